"""A writer process for concurrency tests, hammering matches through the services:

    python -m tests.harness.hammer --seed S --updates N --complete-chance P MATCH_ID...

Random score updates and completions on random matches; refusals (a match another writer already
completed) are expected and counted. Prints a JSON summary.
"""

import argparse
import json
import os
import random

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
django.setup()

from tournaments import errors, services  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--updates", type=int, required=True)
    parser.add_argument("--complete-chance", type=float, default=0.01)
    parser.add_argument("match_ids", type=int, nargs="+")
    options = parser.parse_args()
    rng = random.Random(options.seed)
    counts = {"updated": 0, "completed": 0, "refused": 0}
    for _ in range(options.updates):
        match_id = rng.choice(options.match_ids)
        p1, p2 = rng.randrange(0, 50), rng.randrange(0, 50)
        try:
            if rng.random() < options.complete_chance:
                services.complete_match(
                    match_id=match_id, participant1_score=p1, participant2_score=p2 if p2 != p1 else p1 + 1
                )
                counts["completed"] += 1
            else:
                services.update_score(match_id=match_id, participant1_score=p1, participant2_score=p2)
                counts["updated"] += 1
        except errors.Conflict:
            counts["refused"] += 1
    print(json.dumps(counts), flush=True)


if __name__ == "__main__":
    main()

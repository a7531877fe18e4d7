"""Sibling matches completing at the same instant, on the database named by DATABASE_URL.

    DATABASE_URL=postgres://... python -m tests.harness.siblings ROUNDS

Migrates, then ROUNDS times: an 8-player bracket whose four first-round matches are completed
by four threads released together (two pairs of siblings racing for the same next match).
Prints a JSON report; exits 1 if any next match is missing a winner or holds a wrong one.
"""

import json
import os
import sys

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from tournaments import services  # noqa: E402
from tournaments.models import Match  # noqa: E402

from .factories import tournament as make_tournament  # noqa: E402
from .threads import release_together  # noqa: E402


def race(matches: list[Match]) -> None:
    def completing(match: Match):
        return lambda: services.complete_match(match_id=match.id, participant1_score=2, participant2_score=1)

    errors = release_together([completing(match) for match in matches])
    if errors:
        raise errors[0]


def main(rounds: int) -> int:
    call_command("migrate", verbosity=0)
    organizer, _ = get_user_model().objects.get_or_create(username="sibling-organizer")
    wrong = []
    for index in range(rounds):
        tournament = make_tournament(organizer, 8, name=f"Siblings {index}")
        first_round = list(Match.objects.filter(tournament=tournament, round=1).order_by("position"))
        race(first_round)
        for position in (0, 1):
            semi = Match.objects.get(tournament=tournament, round=2, position=position)
            expected = (first_round[2 * position].participant1_id, first_round[2 * position + 1].participant1_id)
            if (semi.participant1_id, semi.participant2_id) != expected:
                wrong.append({"tournament": tournament.id, "semi": position, "got": [semi.participant1_id,
                              semi.participant2_id], "expected": list(expected)})  # fmt: skip
    print(json.dumps({"vendor": connection.vendor, "rounds": rounds, "wrong": wrong}))
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1])))

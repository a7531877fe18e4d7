"""Organizers editing participants while referees start and complete matches, on the database named
by DATABASE_URL (PostgreSQL: real row locks, so a wrong lock order would deadlock).

    DATABASE_URL=postgres://... python -m tests.harness.editing_races ROUNDS

Migrates, then ROUNDS times, on a fresh 8-player bracket: renamers, an organizer adding players
(each addition draws the bracket again) and a referee starting matches, released together; then
renamers racing the referee completing the started matches. Refusals the rules make (409) are
expected; any other error is reported. Prints a JSON report; exits 1 if there was any.
"""

import contextlib
import itertools
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
from tournaments.errors import DomainError  # noqa: E402
from tournaments.models import Match, Participant  # noqa: E402
from tournaments.services.tournaments import NewParticipant  # noqa: E402

from .factories import tournament as make_tournament  # noqa: E402
from .threads import release_together  # noqa: E402

OPERATIONS = 8


def together(*jobs) -> list[str]:
    """Run the jobs, OPERATIONS times each, released at once; the errors the rules do not explain."""

    def repeated(job):
        def run() -> None:
            for _ in range(OPERATIONS):
                with contextlib.suppress(DomainError):  # refused by the rules: fine
                    job()

        return run

    return [f"{type(error).__name__}: {error}" for error in release_together([repeated(job) for job in jobs])]


def renamer(tournament_id: int, seed: int):
    counter = itertools.count()

    def rename() -> None:
        participant = Participant.objects.filter(tournament_id=tournament_id, seed=seed).first()
        if participant is not None:
            services.update_participant(participant_id=participant.id, name=f"S{seed}-{next(counter)}")

    return rename


def adder(tournament_id: int):
    counter = itertools.count()
    return lambda: services.add_participants(
        tournament_id=tournament_id, entries=[NewParticipant(f"Late {next(counter)}")]
    )


def starter(tournament_id: int):
    def start() -> None:
        match = Match.objects.filter(tournament_id=tournament_id, round=1, state="scheduled").first()
        if match is not None:
            services.start_match(match_id=match.id)

    return start


def completer(tournament_id: int):
    def complete() -> None:
        match = Match.objects.filter(tournament_id=tournament_id, state="live").first()
        if match is not None:
            services.complete_match(match_id=match.id, participant1_score=2, participant2_score=1)

    return complete


def main(rounds: int) -> int:
    call_command("migrate", verbosity=0)
    organizer, _ = get_user_model().objects.get_or_create(username="editing-organizer")
    unexpected = []
    for index in range(rounds):
        tournament_id = make_tournament(organizer, 8, live=0, name=f"Edits {index}").id
        renamers = (renamer(tournament_id, 1), renamer(tournament_id, 2))
        unexpected += together(*renamers, adder(tournament_id), starter(tournament_id))
        unexpected += together(*renamers, starter(tournament_id), completer(tournament_id))
    print(json.dumps({"vendor": connection.vendor, "rounds": rounds, "unexpected": unexpected[:10]}))
    return 1 if unexpected else 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1])))

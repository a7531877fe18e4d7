"""Create (idempotently) the public demo tournament: 8 participants, a bracket, an organizer with a token.

One game per match unless told otherwise: --best-of 3 --final-best-of 5 --third-place seeds
best-of-3 series, a best-of-5 final and a third-place match. What the options leave out stays as
an existing demo has it; a demo that differs from the options is created again (refused once one
of its matches has started). The demo organizer gets a fresh random password each run, printed
with the console's address.
"""

import argparse
import json
import os
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from rest_framework.authtoken.models import Token

from tournaments import results, services
from tournaments.errors import Conflict
from tournaments.models import Tournament

DEMO_NAME = "Demo Cup"
DEMO_ORGANIZER = "demo-organizer"
FORMAT_FIELDS = ("best_of", "final_best_of", "third_place_match")
DEMO_TEAMS = ["Aurora", "Blaze", "Cobalt", "Drift", "Ember", "Falcon", "Glacier", "Hydra"]


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="print {tournament_id, token, match_ids} as JSON")
        parser.add_argument("--best-of", type=int, help="games per match, odd, 1 to 9 (a new demo: 1)")
        parser.add_argument("--final-best-of", type=int, help="games in the final (default: --best-of, else 1)")
        parser.add_argument(
            "--third-place",
            action=argparse.BooleanOptionalAction,
            help="the semi-finals' losers play for third place (a new demo: no)",
        )

    def handle(self, *args, **options) -> None:
        organizer, _ = get_user_model().objects.get_or_create(username=DEMO_ORGANIZER)
        services.allow_to_create_tournaments(organizer)
        token, _ = Token.objects.get_or_create(user=organizer)
        wanted = self.wanted_format(options)
        tournament = Tournament.objects.filter(name=DEMO_NAME, roles__user=organizer).first()
        if tournament is not None and any(getattr(tournament, field) != value for field, value in wanted.items()):
            self.replace(tournament)
            wanted = {field: getattr(tournament, field) for field in FORMAT_FIELDS} | wanted
            tournament = None
        if tournament is None:
            tournament = services.create_tournament(
                name=DEMO_NAME, game="Rocket League", organizer=organizer, participant_names=DEMO_TEAMS, **wanted
            )
        if not tournament.matches.exists():
            services.generate_bracket(tournament_id=tournament.id)
        match_ids = list(tournament.matches.values_list("id", flat=True))
        if options["json"]:
            self.stdout.write(json.dumps({"tournament_id": tournament.id, "token": token.key, "match_ids": match_ids}))
            return
        site = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
        password = secrets.token_urlsafe(12)
        organizer.set_password(password)
        organizer.save(update_fields=["password"])
        self.stdout.write(f"Demo tournament {tournament.id}; organizer token {token.key}")
        self.stdout.write(f"Console: {site}/console/ (log in as {DEMO_ORGANIZER} / {password})")
        self.stdout.write(self.style.SUCCESS(f"Live page: {site}/tournaments/{tournament.id}/"))

    @staticmethod
    def wanted_format(options: dict) -> dict[str, int | bool]:
        """The tournament fields the options name; those left out keep an existing demo's."""
        final_best_of = options["final_best_of"] if options["final_best_of"] is not None else options["best_of"]
        wanted = {
            "best_of": options["best_of"],
            "final_best_of": final_best_of,
            "third_place_match": options["third_place"],
        }
        for option, value in (("--best-of", wanted["best_of"]), ("--final-best-of", final_best_of)):
            if value is not None:
                try:
                    results.check_best_of(value)
                except ValueError as error:  # before an existing demo is replaced
                    raise CommandError(f"{option}: {error}.") from None
        return {field: value for field, value in wanted.items() if value is not None}

    def replace(self, tournament: Tournament) -> None:
        try:
            services.delete_tournament(tournament_id=tournament.id)
        except Conflict:
            raise CommandError(
                f"The demo tournament {tournament.id} ({describe(tournament)}) has started and keeps its format:"
                " run seed_demo without format options, or start from an empty database"
                " (`make run` keeps it in .data/)."
            ) from None
        self.stderr.write(f"Deleted the demo tournament {tournament.id} ({describe(tournament)}) to seed it again.")


def describe(tournament: Tournament) -> str:
    what = f"best of {tournament.best_of}, final best of {tournament.final_best_of}"
    return what + (", third-place match" if tournament.third_place_match else "")

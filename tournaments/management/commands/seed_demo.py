"""Create (idempotently) the public demo tournament: 8 participants, a bracket, an organizer with a token.

Single elimination, one game per match, unless told otherwise: --best-of 3 --final-best-of 5
--third-place seeds best-of-3 series, a best-of-5 final and a third-place match; --format
double_elimination [--grand-final-reset] an upper and a lower bracket; --format round_robin
--groups 4 --playoffs single_elimination --advance 2 groups then playoffs; --participants N
another field size. What the options leave out stays as an existing demo has it; a demo that
differs from the options is created again (refused once one of its matches has started). The demo
organizer gets a fresh random password each run, printed with the console's address.
"""

import argparse
import json
import os
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from rest_framework.authtoken.models import Token

from tournaments import bracket, groups, results, services
from tournaments.errors import Conflict, DomainError
from tournaments.models import Tournament

DEMO_NAME = "Demo Cup"
DEMO_ORGANIZER = "demo-organizer"
FORMAT_FIELDS = (
    "format", "best_of", "final_best_of", "third_place_match", "grand_final_reset", "groups", "playoff_format",
    "advance_per_group",
)  # fmt: skip
SERIES_FIELDS = ("best_of", "final_best_of")
DEMO_TEAMS = [
    "Aurora", "Blaze", "Cobalt", "Drift", "Ember", "Falcon", "Glacier", "Hydra", "Ion", "Jade", "Krypton",
    "Lynx", "Meteor", "Nova", "Onyx", "Phoenix", "Quartz", "Raven", "Sable", "Titan", "Umbra", "Vortex",
    "Wraith", "Xenon", "Yeti", "Zephyr",
]  # fmt: skip


def demo_teams(count: int) -> list[str]:
    return DEMO_TEAMS[:count] + [f"Team {number}" for number in range(len(DEMO_TEAMS) + 1, count + 1)]


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
        parser.add_argument("--format", choices=Tournament.Format.values, help="a new demo: single_elimination")
        parser.add_argument(
            "--grand-final-reset",
            action=argparse.BooleanOptionalAction,
            help="double elimination: the grand final is played again if the lower bracket's winner wins it",
        )
        parser.add_argument("--groups", type=int, help="round robin: how many groups (a new demo: 1)")
        parser.add_argument(
            "--playoffs",
            choices=[groups.SINGLE_ELIMINATION, groups.DOUBLE_ELIMINATION],
            help="round robin: after the groups",
        )
        parser.add_argument("--advance", type=int, help="round robin: how many of each group play the playoffs")
        parser.add_argument("--participants", type=int, default=8, help="how many participants (default 8)")

    def handle(self, *args, **options) -> None:
        organizer, _ = get_user_model().objects.get_or_create(username=DEMO_ORGANIZER)
        services.allow_to_create_tournaments(organizer)
        token, _ = Token.objects.get_or_create(user=organizer)
        wanted = self.wanted_format(options)
        tournament = Tournament.objects.filter(name=DEMO_NAME, roles__user=organizer).first()
        if tournament is not None and (
            any(getattr(tournament, field) != value for field, value in wanted.items())
            or tournament.participants.count() != options["participants"]
        ):
            self.replace(tournament)
            # what the options leave out stays as it was (all of it, if the format stays)
            kept = FORMAT_FIELDS if wanted.get("format", tournament.format) == tournament.format else SERIES_FIELDS
            wanted = {field: getattr(tournament, field) for field in kept} | wanted
            tournament = None
        if tournament is None:
            tournament = self.create(organizer, wanted, options["participants"])
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
    def create(organizer, wanted: dict, participants: int) -> Tournament:
        """The demo with `wanted`'s format; a format the size does not allow is refused before anything is kept."""
        if not bracket.MIN_PARTICIPANTS <= participants <= bracket.MAX_PARTICIPANTS:
            raise CommandError(f"--participants: {bracket.MIN_PARTICIPANTS} to {bracket.MAX_PARTICIPANTS}.")
        options = dict(wanted)
        playoff_format, advance = options.pop("playoff_format", ""), options.pop("advance_per_group", None)
        if playoff_format:
            options["playoffs"] = groups.Playoffs(playoff_format, advance or 1)
        if options.get("groups") == 1 and options.get("format") != Tournament.Format.ROUND_ROBIN:
            options.pop("groups")
        try:
            with transaction.atomic():
                tournament = services.create_tournament(
                    name=DEMO_NAME, game="Rocket League", organizer=organizer,
                    participant_names=demo_teams(participants), **options,
                )  # fmt: skip
                services.generate_bracket(tournament_id=tournament.id)
        except DomainError as error:
            raise CommandError(str(error)) from None
        return tournament

    @staticmethod
    def wanted_format(options: dict) -> dict[str, int | bool]:
        """The tournament fields the options name; those left out keep an existing demo's."""
        final_best_of = options["final_best_of"] if options["final_best_of"] is not None else options["best_of"]
        wanted = {
            "format": options["format"],
            "best_of": options["best_of"],
            "final_best_of": final_best_of,
            "third_place_match": options["third_place"],
            "grand_final_reset": options["grand_final_reset"],
            "groups": options["groups"],
            "playoff_format": options["playoffs"],
            "advance_per_group": options["advance"],
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
    what = f"{tournament.format}, best of {tournament.best_of}, final best of {tournament.final_best_of}"
    if tournament.format == Tournament.Format.ROUND_ROBIN:
        what += f", {tournament.groups} groups"
        if tournament.playoff_format:
            what += f", top {tournament.advance_per_group} to {tournament.playoff_format} playoffs"
    if tournament.grand_final_reset:
        what += ", grand final reset"
    return what + (", third-place match" if tournament.third_place_match else "")

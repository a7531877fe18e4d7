"""Create (idempotently) the public demo tournament: 8 participants, a bracket, an organizer with a token.

The demo organizer gets a fresh random password each run, printed with the console's address.
"""

import json
import os
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from rest_framework.authtoken.models import Token

from tournaments import services
from tournaments.models import Tournament

DEMO_NAME = "Demo Cup"
DEMO_ORGANIZER = "demo-organizer"
DEMO_TEAMS = ["Aurora", "Blaze", "Cobalt", "Drift", "Ember", "Falcon", "Glacier", "Hydra"]


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="print {tournament_id, token, match_ids} as JSON")

    def handle(self, *args, **options):
        organizer, _ = get_user_model().objects.get_or_create(username=DEMO_ORGANIZER)
        services.allow_to_create_tournaments(organizer)
        token, _ = Token.objects.get_or_create(user=organizer)
        tournament = Tournament.objects.filter(name=DEMO_NAME, roles__user=organizer).first()
        if tournament is None:
            tournament = services.create_tournament(
                name=DEMO_NAME, game="Rocket League", organizer=organizer, participant_names=DEMO_TEAMS
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

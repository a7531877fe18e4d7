"""Create (idempotently) a user who may create tournaments: the way an organizer gets an account.

    manage.py create_organizer alice [--password P] [--json]

There is no open sign-up. Without --password an existing password is kept (a new user gets none:
set one with --password, or `manage.py changepassword alice`, before logging in to the console).
Prints the user's API token; with --json, {"username", "token"}.
"""

import json

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from rest_framework.authtoken.models import Token

from tournaments import services


class Command(BaseCommand):
    help = __doc__.splitlines()[0]

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--password", help="set this password (checked against the password rules)")
        parser.add_argument("--json", action="store_true", help='print {"username", "token"} as JSON')

    def handle(self, *args, username: str, password: str | None, **options):
        user, created = get_user_model().objects.get_or_create(username=username)
        if password is not None:
            try:
                validate_password(password, user)
            except ValidationError as error:
                raise CommandError(" ".join(error.messages)) from error
            user.set_password(password)
        elif created:
            user.set_unusable_password()
        user.save()
        services.allow_to_create_tournaments(user)
        token, _ = Token.objects.get_or_create(user=user)
        if options["json"]:
            self.stdout.write(json.dumps({"username": user.username, "token": token.key}))
        else:
            self.stdout.write(
                f"Organizer {user.username} ({'created' if created else 'already there'}); API token {token.key}"
            )

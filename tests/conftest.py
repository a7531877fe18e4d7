"""Fixtures: a real Redis (from `make test`), real Celery workers and real ASGI servers.

`make test` starts a Redis server (project/localredis.py) and exports REDIS_URL; the realtime
keys (`rt:*`) are deleted before each test. Server processes share the test database file, so
tests that talk to them use `django_db(transaction=True)` to commit what they create.
"""

from __future__ import annotations

import os

import pytest
import redis
from django.conf import settings
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token

from realtime import store
from tournaments import services
from tournaments.models import Match, Participant, Tournament

from .support import AsgiServer, Workers, child_env


def pytest_configure(config):
    if not os.environ.get("REDIS_URL"):
        raise pytest.UsageError("REDIS_URL is not set: run the suite with `make test` (it provides Redis).")


@pytest.fixture(autouse=True)
def clean_realtime_state():
    """Each test starts with no realtime state (keys of other subsystems are left alone)."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    keys = list(client.scan_iter(match=f"{store.KEY_PREFIX}*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture(scope="session")
def server_env(django_db_setup, django_db_blocker) -> dict[str, str]:
    from django.db import connection

    return child_env(connection.settings_dict["NAME"])


@pytest.fixture(scope="session")
def celery_worker(server_env) -> Workers:
    workers = Workers(server_env)
    yield workers
    workers.stop()


@pytest.fixture(scope="session")
def asgi_server(server_env):
    server = AsgiServer(server_env)
    yield server
    server.stop()


@pytest.fixture
def organizer(db):
    user = get_user_model().objects.create_user(username=f"organizer-{get_user_model().objects.count()}")
    user.api_token = Token.objects.create(user=user).key
    return user


@pytest.fixture
def live_tournament(organizer):
    """A public 8-participant tournament with its bracket and the first-round matches live."""
    tournament = services.create_tournament(
        name="Test Cup", game="Chess", organizer=organizer, participant_names=[f"P{i}" for i in range(1, 9)]
    )
    services.generate_bracket(tournament.id)
    for match in tournament.matches.filter(round=1):
        services.start_match(match.id)
    return tournament


@pytest.fixture
def private_tournament(db):
    """A private two-player tournament: (tournament, its match, API tokens by username).

    Members: `private-organizer` (organizer) and `player-a` (participant). `outsider` is not one.
    """
    users = {name: get_user_model().objects.create_user(username=name) for name in
             ("private-organizer", "outsider", "player-a")}  # fmt: skip
    tournament = services.create_tournament(
        name="Invite only",
        game="Go",
        organizer=users["private-organizer"],
        participant_names=["A", "B"],
        visibility=Tournament.Visibility.PRIVATE,
    )
    services.generate_bracket(tournament.id)
    Participant.objects.filter(tournament=tournament, name="A").update(user=users["player-a"])
    tokens = {name: Token.objects.create(user=user).key for name, user in users.items()}
    return tournament, Match.objects.get(tournament=tournament), tokens

"""The project as an operator meets it: migrations, system checks, the demo seed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from io import StringIO

import pytest
from django.core.management import call_command

from tests.harness.processes import ROOT
from tournaments.models import Match, Tournament


def test_migrations_match_the_models(db):
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


def test_deploy_checks_are_clean_with_production_settings():
    env = {
        **os.environ,
        "DJANGO_ENV": "production",
        "DJANGO_SECRET_KEY": "a-production-secret-" + "x" * 40,
        "DJANGO_ALLOWED_HOSTS": "scores.example.com",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_refuses_to_start_without_a_secret_key():
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SECRET_KEY"} | {"DJANGO_ENV": "production"}
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


@pytest.mark.django_db(transaction=True)
def test_seed_demo_is_idempotent_and_prints_what_integrators_need():
    outputs = []
    for _ in range(2):
        out = StringIO()
        call_command("seed_demo", "--json", stdout=out)
        outputs.append(json.loads(out.getvalue()))
    assert outputs[0] == outputs[1]
    seeded = outputs[0]
    assert set(seeded) == {"tournament_id", "token", "match_ids"}
    tournament = Tournament.objects.get(pk=seeded["tournament_id"])
    assert tournament.is_public and tournament.participants.count() == 8
    assert sorted(seeded["match_ids"]) == sorted(
        Match.objects.filter(tournament=tournament).values_list("id", flat=True)
    )
    assert len(seeded["match_ids"]) == 7
    assert Tournament.objects.count() == 1


@pytest.mark.django_db
def test_readiness_names_the_database_when_it_cannot_be_reached(client, monkeypatch):
    from django.db import OperationalError

    from project import health

    assert client.get("/readyz").json() == {"status": "ready", "checks": {"database": "ok", "redis": "ok"}}

    def unreachable():
        raise OperationalError("connection refused")

    monkeypatch.setattr(health, "_database", unreachable)
    answer = client.get("/readyz")
    assert answer.status_code == 503 and answer.json()["checks"] == {"database": "unavailable", "redis": "ok"}
    assert client.get("/healthz").status_code == 200

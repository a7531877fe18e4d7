"""Races on PostgreSQL, which locks rows: sibling matches completing at the same moment both advance;
organizers editing participants while referees start and complete matches never deadlock.

SQLite serializes writers (one transaction at a time), so it cannot show a race; this test starts a
real PostgreSQL server (the `pgserver` wheel, no root needed) and races threads against it.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import urllib.parse

import pgserver
import pytest

from tests.harness.processes import ROOT, child_env


@pytest.fixture(scope="module")
def postgres_url(tmp_path_factory):
    logging.getLogger("pgserver").setLevel(logging.WARNING)  # its exit hook logs after pytest closed stderr
    directory = tmp_path_factory.mktemp("pg")
    server = pgserver.get_server(directory, cleanup_mode="stop")
    try:
        yield f"postgres://postgres@{urllib.parse.quote(str(directory), safe='')}/postgres"
    finally:
        server.cleanup()


def run_harness(program: str, rounds: int, database_url: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-m", f"tests.harness.{program}", str(rounds)],
        cwd=ROOT, env={**child_env(""), "DATABASE_URL": database_url}, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_sibling_matches_completing_together_both_advance_on_postgres(postgres_url):
    assert run_harness("siblings", 25, postgres_url) == {"vendor": "postgresql", "rounds": 25, "wrong": []}


def test_editing_participants_while_matches_start_and_complete_never_deadlocks_on_postgres(postgres_url):
    assert run_harness("editing_races", 6, postgres_url) == {"vendor": "postgresql", "rounds": 6, "unexpected": []}

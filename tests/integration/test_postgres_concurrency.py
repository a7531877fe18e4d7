"""Two sibling matches completing at the same moment both advance — on PostgreSQL, which locks rows.

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

from tests.harness.processes import ROOT, child_env


def test_sibling_matches_completing_together_both_advance_on_postgres(tmp_path):
    logging.getLogger("pgserver").setLevel(logging.WARNING)  # its exit hook logs after pytest closed stderr
    server = pgserver.get_server(tmp_path / "pg", cleanup_mode="stop")
    try:
        socket_dir = urllib.parse.quote(str(tmp_path / "pg"), safe="")
        database_url = f"postgres://postgres@{socket_dir}/postgres"
        result = subprocess.run(
            [sys.executable, "-m", "tests.harness.siblings", "25"],
            cwd=ROOT, env={**child_env(""), "DATABASE_URL": database_url}, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr
        report = json.loads(result.stdout.strip().splitlines()[-1])
        assert report == {"vendor": "postgresql", "rounds": 25, "wrong": []}
    finally:
        server.cleanup()

"""Fixtures shared by the test tree.

tests/unit needs nothing but Python (`pytest tests/unit`, seconds). tests/integration and tests/e2e
need a real Redis: `make test` starts one (project/localredis.py) and exports REDIS_URL, and their
conftests empty the realtime keys (`rt:*`) before each test. Server processes (real ASGI servers,
Celery workers) share the test database file, so tests that talk to them use
`django_db(transaction=True)` to commit what they create.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from hypothesis import settings

from realtime.store import keys
from tests.harness import factories
from tests.harness.processes import AsgiServer, Workers, child_env
from tournaments.models import Match, Participant, Tournament

# One realtime namespace for the session, shared with every process it starts (child_env copies the
# environment): every transactional test empties the database, which would otherwise make each new
# process read a new namespace from it (tests/integration/test_namespace.py tests that path).
os.environ.setdefault("REALTIME_NAMESPACE", f"test{os.getpid()}")
keys.use_namespace(os.environ["REALTIME_NAMESPACE"])

# Property tests assert what holds, never how fast: no per-example deadline (on a shared 2-core CI
# machine a slow example is load, not a bug).
settings.register_profile("suite", deadline=None)
settings.load_profile("suite")


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix, tmp_path_factory) -> None:
    """A SQLite test database file of this session's own (pytest-django's hook for its location).

    pytest-django deletes the test database file when a session starts, every transactional test
    empties all its tables when it ends, and the session deletes the file when it finishes. Two
    sessions on one file (two people or agents running tests in one checkout) therefore wipe each
    other's rows and file mid-test: a spectator then gets 4404 for the tournament its test just
    created, a writer "no such table", a flush "attempt to write a readonly database". The file is
    in the session's own pytest temporary directory, which no other session cleans up while this
    one runs. TEST_DATABASE_PATH still chooses a file explicitly (e.g. to keep one with --reuse-db).
    """
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.sqlite3" and not os.environ.get("TEST_DATABASE_PATH"):
        database.setdefault("TEST", {})["NAME"] = str(tmp_path_factory.mktemp("database") / "test-db.sqlite3")


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
    return factories.user_with_token(f"organizer-{get_user_model().objects.count()}")


@pytest.fixture
def live_tournament(organizer):
    """A public 8-participant tournament with its bracket and the first-round matches live."""
    return factories.tournament(organizer)


@pytest.fixture
def private_tournament(db):
    """A private two-player tournament: (tournament, its match, API tokens by username).

    Members: `private-organizer` (organizer) and `player-a` (participant). `outsider` is not one.
    """
    users = {name: factories.user_with_token(name) for name in ("private-organizer", "outsider", "player-a")}
    tournament = factories.tournament(
        users["private-organizer"], 2, live=0, name="Invite only", visibility=Tournament.Visibility.PRIVATE
    )
    Participant.objects.filter(tournament=tournament, seed=1).update(user=users["player-a"])
    tokens = {name: user.api_token for name, user in users.items()}
    return tournament, Match.objects.get(tournament=tournament), tokens


# Every server a test starts must be stopped by it: a leftover would outlive `make test`. Once all
# fixtures are torn down, whatever still runs below this pytest process is terminated and fails the
# session. (`make test` runs pytest under project/localredis.py, so the session's Redis is the
# parent, not a descendant, and is left alone.)
LEFTOVER_GRACE_S = 3  # for processes already on their way out (a browser driver closing, say)


def _stat(pid: int | str) -> tuple[str, int, str] | None:
    """(state, parent pid, start time) of a process, None once it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    state, ppid, *rest = text[text.rindex(")") + 2 :].split()
    return state, int(ppid), rest[17]


def _running(pid: int, started: str) -> bool:
    stat = _stat(pid)  # a zombie has exited: only its exit status is left
    return stat is not None and stat[0] not in ("Z", "X") and stat[2] == started


def _running_descendants(root: int) -> dict[tuple[int, str], str]:
    """Live processes below `root`, as {(pid, start time): command line}, from /proc."""
    children: dict[int, list[tuple[int, str, str]]] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        stat = _stat(entry.name)
        if stat is not None:
            state, ppid, started = stat
            children.setdefault(ppid, []).append((int(entry.name), state, started))
    found: dict[tuple[int, str], str] = {}
    pending = [root]
    while pending:
        for pid, state, started in children.get(pending.pop(), []):
            pending.append(pid)
            if state not in ("Z", "X"):
                found[(pid, started)] = _command_line(pid)
    return found


def _command_line(pid: int) -> str:
    try:
        line = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").strip()
    except OSError:
        return "?"
    return line.decode(errors="replace") or "?"


def _still_running(processes: dict[tuple[int, str], str], timeout: float) -> dict[tuple[int, str], str]:
    """Those of `processes` still running after up to `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        processes = {key: line for key, line in processes.items() if _running(*key)}
        if not processes or time.monotonic() >= deadline:
            return processes
        time.sleep(0.1)


def _signal(processes: dict[tuple[int, str], str], signum: int) -> None:
    for pid, _ in processes:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)


@pytest.hookimpl(trylast=True)  # after pytest's own sessionfinish has torn down the session fixtures
def pytest_sessionfinish(session):
    leftovers = _still_running(_running_descendants(os.getpid()), LEFTOVER_GRACE_S)
    if not leftovers:
        return
    _signal(leftovers, signal.SIGTERM)
    _signal(_still_running(leftovers, 10), signal.SIGKILL)
    lines = [f"{pid}: {command}" for (pid, _), command in sorted(leftovers.items())]
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.line("")
        reporter.write_sep("=", "processes the tests left running (now terminated)", red=True)
        for line in lines:
            reporter.line(line, red=True)
    else:
        print("processes the tests left running (now terminated):", *lines, sep="\n")
    if session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED

"""HTTP API benchmark: the score write path through the real stack, against two baselines measured in
the same run by the same client processes: `python -m bench.api` under
`python -m project.localredis --port 0 --` (which sets REDIS_URL); `make bench` runs it.

    python -m bench.api [--databases sqlite,postgres] [--seconds 8] [--client-processes 4] [--connections 8]
                        [--out docs/benchmarks/api.md]

Per database (a fresh SQLite file; a fresh PostgreSQL from the `pgserver` wheel), the real stack:
uvicorn with ONE worker process, a Celery worker and beat (project/processes.py's command lines),
settings bench/api_settings.py (the project's, plus bench/api_urls.py's two baselines), the score
throttle raised so that it runs but never refuses. Data through the public HTTP API only: an organizer
and token (`manage.py create_organizer --json`), a 16-player tournament, its bracket, the 8 first-round
matches started. Then:

1. Throughput: the same closed-loop clients (bench/api_client.py: raw asyncio HTTP/1.1, keep-alive;
   default 4 processes x 8 connections = 32 concurrent) for --seconds each after a 1 s warmup,
   against `POST bench/plain/` (plain Django view), `POST bench/drf-floor/` (DRF, token auth,
   IsAuthenticated, 202, writes nothing) and `POST /api/matches/<id>/score/` (increasing scores,
   spread over the 8 matches). Requests/s, p50/p99, non-2xx; targets: score >= 0.8x the DRF floor,
   score p99 <= 50 ms.
2. Database writes: a trigger on `tournaments_match` AFTER UPDATE counts, in the database itself, every
   row written; 10 score posts/s per match on the 8 matches for 6 s; then the count is read once it has
   stopped changing (flushes, sweeps). Target: <= 0.1 match-row writes per score posted. And every
   match's score in the database must equal the last score posted to it.

Also, once per run: the same clients against a trivial asyncio server (`python -m bench.api_client
serve`), what they can drive on this machine at most. Traffic goes to 127.0.0.1 only; every wait is
bounded, the whole run by --budget-seconds; every child process is stopped at the end, on failure too.
Exit status: 0 all targets met, 1 a target missed, 2 a run failed.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import inspect
import json
import logging
import os
import platform
import queue
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from bench import procstat
from project import processes

ROOT = Path(__file__).resolve().parent.parent
SETTINGS_MODULE = "bench.api_settings"
HOST = "127.0.0.1"
LOGS = Path(tempfile.gettempdir()) / "bench-api-logs"  # made fresh by main(); kept when a run failed

PARTICIPANTS = 16
MATCHES = 8  # the first round of a 16-player bracket
SYSTEMS = ("plain", "drf-floor", "score")
LABELS = {"plain": "plain Django view", "drf-floor": "DRF floor (token auth)", "score": "score post"}
WARMUP_S = 1.0
CEILING_SECONDS = 3.0
PACED_RATE = 10.0  # score posts per second per match
PACED_SECONDS = 6.0
PACED_BASE = 500_000  # paced scores start above every score the throughput phase posts
REQUEST_TIMEOUT_S = 10.0
SETTLE_TIMEOUT_S = 30.0
THROTTLE_RATE = "10000000/min"

TARGET_SCORE_VS_FLOOR = 0.8
TARGET_P99_MS = 50.0
TARGET_WRITES_PER_UPDATE = 0.1


class OverBudget(Exception):
    pass


# --- child processes: each leads its own process group, stopped as a group ----------------------------


class Child:
    """A server process whose output goes to a log file (no reader in this process to compete for CPU)."""

    def __init__(self, name: str, args: list[str], env: dict, ready: str | None, timeout: float = 60) -> None:
        self.name = name
        LOGS.mkdir(parents=True, exist_ok=True)
        self.log = LOGS / f"{name}.log"
        self._file = open(self.log, "w")  # noqa: SIM115 (closed by stop)
        self.process = subprocess.Popen(
            args, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=self._file, stderr=subprocess.STDOUT,
            process_group=0,
        )  # fmt: skip
        CHILDREN.append(self)
        if ready:
            try:
                self.wait_for(ready, timeout)
            except BaseException:
                self.stop()
                raise

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.output().splitlines()[-lines:])

    def wait_for(self, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.output():
                return
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited ({self.process.returncode}) before {text!r}:\n{self.tail()}")
            time.sleep(0.1)
        raise RuntimeError(f"{self.name}: no {text!r} within {timeout:g} s:\n{self.tail()}")

    def stop(self, timeout: float = 10) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
        with contextlib.suppress(ProcessLookupError, PermissionError):  # whatever of its group is left
            os.killpg(self.process.pid, signal.SIGKILL)
        self._file.close()
        with contextlib.suppress(ValueError):
            CHILDREN.remove(self)


CHILDREN: list[Child] = []
CLIENT_PROCESSES: list[subprocess.Popen] = []
EXIT = contextlib.ExitStack()  # the current database's resources (its servers, PostgreSQL, temp dir)


@contextlib.contextmanager
def no_alarm():
    """Cleanup is never cut short by the budget's alarm (it is delivered once the block ends)."""
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGALRM})


@atexit.register
def stop_everything() -> None:
    signal.alarm(0)
    with contextlib.suppress(Exception):
        EXIT.close()
    for child in list(CHILDREN):
        with contextlib.suppress(Exception):
            child.stop(timeout=5)
    for process in CLIENT_PROCESSES:
        with contextlib.suppress(Exception):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(5)
    CLIENT_PROCESSES.clear()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def sleep_until(instant: float) -> None:
    delay = instant - time.monotonic()
    if delay > 0:
        time.sleep(delay)


# --- the client processes: the same ones for every system and database ---------------------------------


class Clients:
    def __init__(self, count: int) -> None:
        self.processes: list[subprocess.Popen] = []
        self.answers: list[queue.Queue] = []
        for _ in range(count):
            process = subprocess.Popen([sys.executable, "-m", "bench.api_client"], cwd=ROOT, stdin=subprocess.PIPE,
                                       stdout=subprocess.PIPE, text=True, process_group=0)  # fmt: skip
            CLIENT_PROCESSES.append(process)
            answers: queue.Queue = queue.Queue()
            threading.Thread(target=self._read, args=(process, answers), daemon=True).start()
            self.processes.append(process)
            self.answers.append(answers)

    @staticmethod
    def _read(process: subprocess.Popen, answers: queue.Queue) -> None:
        for line in process.stdout:
            answers.put(json.loads(line))
        answers.put(None)

    def __len__(self) -> int:
        return len(self.processes)

    def _send(self, number: int, message: dict) -> None:
        self.processes[number].stdin.write(json.dumps(message) + "\n")
        self.processes[number].stdin.flush()

    def _answer(self, number: int, timeout: float) -> dict:
        try:
            answer = self.answers[number].get(timeout=max(0.1, timeout))
        except queue.Empty:
            raise RuntimeError(f"client {number}: no answer within {timeout:g} s") from None
        if answer is None:
            raise RuntimeError(f"client {number} exited ({self.processes[number].poll()})")
        if "error" in answer:
            raise RuntimeError(f"client {number}: {answer['error']}")
        return answer

    def start(self, commands: list[dict], timeout: float = 30) -> float:
        """Send each process its command; once all are connected, the instant they all start at."""
        for number, command in enumerate(commands):
            self._send(number, command)
        for number in range(len(commands)):
            self._answer(number, timeout)  # {"ready": ...}
        start = time.monotonic() + 0.3
        for number in range(len(commands)):
            self._send(number, {"go": start})
        return start

    def results(self, count: int, timeout: float) -> list[dict]:
        deadline = time.monotonic() + timeout
        return [self._answer(number, deadline - time.monotonic())["result"] for number in range(count)]

    def close(self) -> None:
        for process in self.processes:
            with contextlib.suppress(OSError, ValueError):
                process.stdin.write(json.dumps({"cmd": "quit"}) + "\n")
                process.stdin.close()
        for process in self.processes:
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(5)


# --- the database, read and instrumented from here (not through Django) ---------------------------------

SQLITE_COUNTER = [
    "CREATE TABLE IF NOT EXISTS bench_match_writes (match_id INTEGER PRIMARY KEY, n INTEGER NOT NULL DEFAULT 0)",
    "DROP TRIGGER IF EXISTS bench_count_match_writes",
    """CREATE TRIGGER bench_count_match_writes AFTER UPDATE ON tournaments_match FOR EACH ROW
       BEGIN
         INSERT OR IGNORE INTO bench_match_writes (match_id, n) VALUES (NEW.id, 0);
         UPDATE bench_match_writes SET n = n + 1 WHERE match_id = NEW.id;
       END""",
]
POSTGRES_COUNTER = [
    "CREATE TABLE IF NOT EXISTS bench_match_writes (match_id bigint PRIMARY KEY, n bigint NOT NULL DEFAULT 0)",
    """CREATE OR REPLACE FUNCTION bench_count_match_writes() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         INSERT INTO bench_match_writes AS w (match_id, n) VALUES (NEW.id, 1)
           ON CONFLICT (match_id) DO UPDATE SET n = w.n + 1;
         RETURN NULL;
       END $$""",
    "DROP TRIGGER IF EXISTS bench_count_match_writes ON tournaments_match",
    """CREATE TRIGGER bench_count_match_writes AFTER UPDATE ON tournaments_match
       FOR EACH ROW EXECUTE FUNCTION bench_count_match_writes()""",
]


class Database:
    """The run's database, opened directly (sqlite3 / psycopg, autocommit): one counter row per match,
    incremented by a trigger in the same transaction as the match row's update, so it counts exactly
    the row updates that committed, whoever wrote them (web, worker, beat)."""

    def __init__(self, kind: str, location: Path) -> None:
        self.kind, self.location = kind, location
        self.connection = None

    def connect(self):
        if self.connection is None:
            if self.kind == "sqlite":
                self.connection = sqlite3.connect(self.location, timeout=20, isolation_level=None)
            else:
                import psycopg

                self.connection = psycopg.connect(host=str(self.location), user="postgres", dbname="postgres",
                                                  autocommit=True)  # fmt: skip
        return self.connection

    def rows(self, sql: str) -> list[tuple]:
        cursor = self.connect().cursor()
        try:
            cursor.execute(sql)
            return list(cursor.fetchall()) if cursor.description else []
        finally:
            cursor.close()

    def version(self) -> str:
        if self.kind == "sqlite":
            return f"SQLite {sqlite3.sqlite_version}"
        return "PostgreSQL " + self.rows("SHOW server_version")[0][0].split()[0]

    def install_counter(self) -> None:
        for statement in SQLITE_COUNTER if self.kind == "sqlite" else POSTGRES_COUNTER:
            self.rows(statement)

    def match_writes(self) -> int:
        return int(self.rows("SELECT COALESCE(SUM(n), 0) FROM bench_match_writes")[0][0])

    def scores(self, match_ids: list[int]) -> dict[int, tuple[int, int]]:
        ids = ",".join(str(int(m)) for m in match_ids)
        sql = f"SELECT id, participant1_score, participant2_score FROM tournaments_match WHERE id IN ({ids})"
        rows = self.rows(sql)
        return {int(i): (int(a), int(b)) for i, a, b in rows}

    def close(self) -> None:
        if self.connection is not None:
            with contextlib.suppress(Exception):
                self.connection.close()
            self.connection = None


# --- one database's stack ---------------------------------------------------------------------------------


@dataclass
class Stack:
    kind: str
    env: dict
    db: Database
    port: int = 0
    token: str = ""
    tournament_id: int = 0
    matches: list[int] = field(default_factory=list)
    web: Child | None = None
    worker: Child | None = None
    beat: Child | None = None
    postgres_pid: int | None = None

    def cpu(self, redis) -> dict[str, float]:
        """CPU seconds so far of each part of the stack (for deltas over a measured window)."""
        parts = {"web": self.web, "worker": self.worker, "beat": self.beat}
        cpu = {name: procstat.tree_cpu_seconds(procstat.tree(c.pid)) if c else 0.0 for name, c in parts.items()}
        cpu["database"] = procstat.tree_cpu_seconds(procstat.tree(self.postgres_pid)) if self.postgres_pid else 0.0
        info = redis.info("cpu")
        cpu["redis"] = float(info.get("used_cpu_sys", 0)) + float(info.get("used_cpu_user", 0))
        cpu["bench"] = time.process_time()
        return cpu


OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never a proxy: 127.0.0.1 only


def api(port: int, method: str, path: str, token: str | None = None, body=None) -> tuple[int, object]:
    headers = {"Authorization": f"Token {token}"} if token else {}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(f"http://{HOST}:{port}{path}", data=data, method=method, headers=headers)
    try:
        with OPENER.open(request, timeout=30) as response:
            status, text = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read()
    try:
        return status, json.loads(text) if text else None
    except ValueError:
        return status, text[:300]


def expect(answer: tuple[int, object], *statuses: int, what: str):
    status, body = answer
    if status not in statuses:
        raise RuntimeError(f"{what}: HTTP {status}, expected {statuses}: {str(body)[:500]}")
    return body


def manage(env: dict, *args: str, timeout: float = 180) -> str:
    done = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=timeout)  # fmt: skip
    if done.returncode != 0:
        print(done.stdout + done.stderr, file=sys.stderr)
        last = ([line for line in done.stderr.splitlines() if line.strip()] or ["(no output)"])[-1]
        raise RuntimeError(f"manage.py {' '.join(args)} failed ({done.returncode}): {last}")
    return done.stdout


def asgi_command(port: int) -> list[str]:
    """The project's uvicorn command line with one worker process (whatever its signature now is)."""
    if "workers" in inspect.signature(processes.asgi_server).parameters:
        return processes.asgi_server(HOST, port, workers=1)
    return processes.asgi_server(HOST, port)


def start_stack(kind: str, options) -> Stack:
    """A fresh database, migrated, an organizer; uvicorn, worker, beat; the tournament through the API.
    Every resource goes onto EXIT, so that it is released whatever happens next."""
    work = Path(tempfile.mkdtemp(prefix=f"bench-api-{kind}-"))
    EXIT.callback(shutil.rmtree, work, ignore_errors=True)
    postgres_pid = None
    if kind == "sqlite":
        location = work / "db.sqlite3"
        url = f"sqlite:///{location}"
    elif kind == "postgres":
        import pgserver

        logging.getLogger("pgserver").setLevel(logging.WARNING)
        location = work / "pg"
        location.mkdir()
        server = pgserver.get_server(location, cleanup_mode="stop")
        EXIT.callback(server.cleanup)
        with contextlib.suppress(Exception):
            postgres_pid = int(server.get_pid())
        url = f"postgres://postgres@{urllib.parse.quote(str(location), safe='')}/postgres"
    else:
        raise ValueError(f"unknown database {kind!r}")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": SETTINGS_MODULE,
        "DATABASE_URL": url,
        "DATA_DIR": str(work / "data"),
        "DJANGO_DEBUG": "0",  # as in production: DEBUG records every SQL query
        "SCORE_THROTTLE_RATE": THROTTLE_RATE,  # the throttle runs, and never refuses
        "WEB_CONCURRENCY": "1",
        "PYTHONUNBUFFERED": "1",
    }
    if options.pool_size is not None:
        env["DATABASE_POOL_SIZE"] = str(options.pool_size)
    db = Database(kind, location)
    EXIT.callback(db.close)
    stack = Stack(kind, env, db, postgres_pid=postgres_pid)
    manage(env, "migrate", "--noinput", "-v", "0")
    organizer = json.loads(manage(env, "create_organizer", "bench-organizer", "--json").strip().splitlines()[-1])
    stack.token = organizer["token"]

    stack.port = free_port()
    stack.web = Child(f"{kind}-web", asgi_command(stack.port), env, processes.ASGI_READY)
    EXIT.callback(stack.web.stop)
    worker_ready = getattr(processes, "WORKER_READY", " ready.")
    stack.worker = Child(f"{kind}-worker", processes.celery_worker(f"bench-api-{kind}-{os.getpid()}@%h"), env,
                         worker_ready)  # fmt: skip
    EXIT.callback(stack.worker.stop)
    stack.beat = Child(f"{kind}-beat", processes.celery_beat(), env, getattr(processes, "BEAT_READY", "beat: Starting"))
    EXIT.callback(stack.beat.stop)

    port, token = stack.port, stack.token
    expect(api(port, "GET", "/healthz"), 200, what="GET /healthz")
    names = [f"Player {i:02d}" for i in range(1, PARTICIPANTS + 1)]
    document = expect(api(port, "POST", "/api/tournaments/", token,
                          {"name": "Bench Cup", "game": "Chess", "participants": names}), 201,
                      what="POST /api/tournaments/")  # fmt: skip
    stack.tournament_id = int(document["tournament"]["id"])
    document = expect(api(port, "POST", f"/api/tournaments/{stack.tournament_id}/bracket/", token), 200, 201,
                      what="POST bracket")  # fmt: skip
    first_round = min(m["round"] for m in document["matches"])
    playable = sorted(
        (m for m in document["matches"] if m["round"] == first_round and m.get("participant1_id")
         and m.get("participant2_id")), key=lambda m: m["position"],
    )  # fmt: skip
    stack.matches = [int(m["id"]) for m in playable]
    if len(stack.matches) != MATCHES:
        raise RuntimeError(f"the bracket has {len(stack.matches)} playable first-round matches, not {MATCHES}")
    for match_id in stack.matches:
        expect(api(port, "POST", f"/api/matches/{match_id}/start/", token), 200, what=f"start match {match_id}")
    # The endpoints answer as the phases expect (a wrong token or path would otherwise be measured as 4xx).
    expect(api(port, "POST", "/bench/plain/", body={}), 200, what="POST /bench/plain/")
    expect(api(port, "POST", "/bench/drf-floor/", token, {}), 202, what="POST /bench/drf-floor/")
    expect(api(port, "POST", "/bench/drf-floor/", None, {}), 401, 403, what="POST /bench/drf-floor/ without token")
    return stack


# --- the phases ------------------------------------------------------------------------------------------


def percentile_ms(histogram: dict[int, int], total: int, p: float) -> float | None:
    """The upper edge of the 10 µs bucket holding the element at index int(total × p / 100)."""
    if not total:
        return None
    index, seen = min(total - 1, int(total * p / 100)), 0
    for bucket in sorted(histogram):
        seen += histogram[bucket]
        if seen > index:
            return round((bucket + 1) / 100, 2)
    return round((max(histogram) + 1) / 100, 2)


def merge(reports: list[dict]) -> dict:
    histogram: dict[int, int] = {}
    statuses: dict[str, int] = {}
    errors: dict[str, int] = {}
    for report in reports:
        for bucket, count in report["histogram"].items():
            histogram[int(bucket)] = histogram.get(int(bucket), 0) + count
        for key, count in report["statuses"].items():
            statuses[key] = statuses.get(key, 0) + count
        for key, count in report["errors"].items():
            errors[key] = errors.get(key, 0) + count
    total = sum(histogram.values())
    return {
        "completed": sum(r["completed"] for r in reports),
        "warmup": sum(r["warmup"] for r in reports),
        "p50_ms": percentile_ms(histogram, total, 50),
        "p99_ms": percentile_ms(histogram, total, 99),
        "max_ms": round((max(histogram) + 1) / 100, 2) if histogram else None,
        "statuses": dict(sorted(statuses.items())),
        "non_2xx": sum(n for s, n in statuses.items() if not s.startswith("2")),
        "errors": errors,
        "client_cpu_s": round(sum(r.get("cpu_s", 0.0) for r in reports), 3),
    }


def cpu_delta(before: dict, after: dict) -> dict:
    return {name: round(after[name] - before[name], 3) for name in before}


def closed_phase(clients: Clients, stack: Stack | None, kind: str, port: int, seconds: float, options, redis,
                 cpu_of=None) -> dict:  # fmt: skip
    """`kind` at full speed, closed loop, every client process's connections at once."""
    commands = [
        {"cmd": "closed", "port": port, "connections": options.connections, "kind": kind,
         "token": stack.token if stack else None, "matches": stack.matches if stack else [],
         "first_connection": number * options.connections, "warmup_s": WARMUP_S, "seconds": seconds,
         "timeout_s": REQUEST_TIMEOUT_S}
        for number in range(len(clients))
    ]  # fmt: skip
    cpu_of = cpu_of or (lambda: stack.cpu(redis))
    load = round(os.getloadavg()[0], 2)
    start = clients.start(commands)
    sleep_until(start + WARMUP_S)
    before = cpu_of()
    profiler = start_profiler(stack, kind, seconds) if options.profile and stack else None
    sleep_until(start + WARMUP_S + seconds)
    after = cpu_of()
    result = merge(clients.results(len(clients), REQUEST_TIMEOUT_S + 30))
    if profiler:
        result["profile"] = profile_summary(*profiler)
    result.update(system=kind, seconds=seconds, load_average=round(load, 2), cpu_s=cpu_delta(before, after))
    result["requests_per_s"] = round(result["completed"] / seconds, 1)
    done = max(result["completed"], 1)
    result["server_cpu_us_per_request"] = round(result["cpu_s"].get("web", 0.0) / done * 1e6, 1)
    result["client_cpu_us_per_request"] = round(result["client_cpu_s"] / done * 1e6, 1)
    return result


# Where a request's server time goes, by the outermost frame of each kind on a sampled stack
# (py-spy --format raw: one line per distinct stack, "frame;frame;... count"; a frame is
# "function (file:line)"). Checked in this order; the first match names the sample.
PROFILE_PARTS = (
    ("token authentication (database)", "authentication.py"),
    ("throttle (cache)", "throttling.py"),
    ("score submit (Redis)", "coalescing.py"),
    ("flush enqueue (Celery)", "apply_async"),
    ("JSON parse and validation", "serializers.py"),
    ("response rendering", "renderers.py"),
    ("middleware and Django handler", "django/"),
    ("uvicorn and asyncio", "uvicorn/"),
)


def start_profiler(stack: Stack, kind: str, seconds: float) -> tuple[subprocess.Popen, Path]:
    """py-spy recording the web process for the counted window (`--profile`; needs py-spy installed)."""
    out = LOGS / f"profile-{stack.kind}-{kind}.txt"
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    args = [spy, "record", "--pid", str(stack.web.pid), "--subprocesses", "--duration", str(max(1, int(seconds))),
            "--rate", "250", "--format", "raw", "--output", str(out), "--nonblocking"]  # fmt: skip
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL), out


def profile_summary(profiler: subprocess.Popen, out: Path) -> dict:
    """Share of the web process's sampled stacks in each of PROFILE_PARTS (active samples only)."""
    try:
        profiler.wait(30)
        lines = out.read_text().splitlines()
    except (subprocess.TimeoutExpired, OSError) as error:
        profiler.kill()
        return {"error": f"py-spy: {error}"}
    shares: dict[str, int] = {}
    total = 0
    for line in lines:
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        total += int(count)
        part = next((name for name, marker in PROFILE_PARTS if marker in stack), "other (threads, waiting)")
        shares[part] = shares.get(part, 0) + int(count)
    return {"samples": total, "file": str(out),
            "shares": {name: round(100 * n / total, 1) for name, n in sorted(shares.items(), key=lambda i: -i[1])}
            if total else {}}  # fmt: skip


def quiet_seconds() -> float:
    """How long the match-row count must stay unchanged to be settled: two sweeps and a second."""
    try:
        sweep = float(os.environ.get("REALTIME_SWEEP_INTERVAL_S") or 2)
    except ValueError:
        sweep = 2.0
    return 2 * sweep + 1


def settle(db: Database, quiet_s: float, timeout_s: float = SETTLE_TIMEOUT_S) -> dict:
    """Poll the count until it has not changed for `quiet_s` (or `timeout_s` passed)."""
    started = time.monotonic()
    count, changed = db.match_writes(), started
    while True:
        time.sleep(0.2)
        now = time.monotonic()
        latest = db.match_writes()
        if latest != count:
            count, changed = latest, now
        if now - changed >= quiet_s or now - started >= timeout_s:
            return {"count": count, "last_change_s": round(changed - started, 2), "timed_out": now - changed < quiet_s}


def writes_phase(clients: Clients, stack: Stack, redis, quiet_s: float) -> dict:
    """80 score posts/s (10 per match) for PACED_SECONDS; match rows written, counted by the database."""
    stack.db.install_counter()
    # The throughput phase's own deferred writes (if the score path defers any) must not count here.
    before = settle(stack.db, quiet_s)
    count = len(clients)
    commands = []
    for number in range(count):
        mine = [(index, m) for index, m in enumerate(stack.matches) if index % count == number]
        commands.append({
            "cmd": "paced", "port": stack.port, "token": stack.token, "rate": PACED_RATE, "seconds": PACED_SECONDS,
            "base": PACED_BASE, "timeout_s": REQUEST_TIMEOUT_S,
            "matches": [{"id": m, "offset_s": index / (PACED_RATE * len(stack.matches))} for index, m in mine],
        })  # fmt: skip
    load = round(os.getloadavg()[0], 2)
    cpu_before = stack.cpu(redis)
    start = clients.start(commands)
    reports = clients.results(count, PACED_SECONDS + REQUEST_TIMEOUT_S + 30)
    posting_s = time.monotonic() - start
    cpu_after_posts = stack.cpu(redis)
    after = settle(stack.db, quiet_s)
    cpu_after = stack.cpu(redis)
    per_match = {int(k): v for report in reports for k, v in report["matches"].items()}
    in_db = stack.db.scores(stack.matches)
    mismatches, unchecked = [], []
    for match_id in stack.matches:
        last = per_match.get(match_id, {}).get("last")
        if last is None:
            unchecked.append(match_id)
        elif tuple(last) != in_db.get(match_id):
            mismatches.append({"match": match_id, "last_posted": last, "database": in_db.get(match_id)})
    result = merge(reports)
    posted = sum(m["posted"] for m in per_match.values())
    writes = after["count"] - before["count"]
    result.update(
        load_average=load,
        planned=int(round(PACED_RATE * PACED_SECONDS)) * len(stack.matches),
        sent=sum(m["sent"] for m in per_match.values()),
        posted=posted,
        late=sum(m["late"] for m in per_match.values()),
        posting_s=round(posting_s, 2),
        rate_per_s=round(posted / PACED_SECONDS, 1),
        writes_before_settled=before,
        writes_after_settled=after,
        match_row_writes=writes,
        writes_per_update=round(writes / posted, 3) if posted else None,
        mismatches=mismatches,
        unchecked=unchecked,
        cpu_s_posting=cpu_delta(cpu_before, cpu_after_posts),
        cpu_s_settling=cpu_delta(cpu_after_posts, cpu_after),
    )
    return result


@dataclass
class DatabaseRun:
    kind: str
    version: str = ""
    note: str = ""  # why it failed or was skipped
    throughput: dict = field(default_factory=dict)
    writes: dict = field(default_factory=dict)
    wall_s: float = 0.0
    logs: list = field(default_factory=list)
    too_many_clients: int = 0  # the web server's log lines saying PostgreSQL refused a connection


def run_database(kind: str, clients: Clients, options, redis) -> DatabaseRun:
    began = time.monotonic()
    run = DatabaseRun(kind)
    try:
        redis.flushdb()  # nothing of the previous database's run (match ids repeat)
        print(f"[{kind}] starting the stack (database, migrate, uvicorn, worker, beat, tournament)", flush=True)
        stack = start_stack(kind, options)
        run.version = stack.db.version()
        run.logs = [str(c.log) for c in (stack.web, stack.worker, stack.beat)]
        print(f"[{kind}] {run.version}; server on {HOST}:{stack.port}; matches {stack.matches}", flush=True)
        for system in SYSTEMS:
            result = closed_phase(clients, stack, system, stack.port, options.seconds, options, redis)
            run.throughput[system] = result
            print(f"[{kind}] {system}: {result['requests_per_s']} 2xx/s, p50 {result['p50_ms']} ms, "
                  f"p99 {result['p99_ms']} ms, non-2xx {result['non_2xx']} {result['statuses']}, "
                  f"errors {result['errors']}, server CPU {result['cpu_s']['web']} s "
                  f"({result['server_cpu_us_per_request']} µs/req), clients "
                  f"{result['client_cpu_us_per_request']} µs/req, load {result['load_average']}",
                  flush=True)  # fmt: skip
            if "profile" in result:
                print(f"[{kind}] {system} profile: {result['profile']}", flush=True)
        run.writes = writes_phase(clients, stack, redis, options.quiet_seconds)
        w = run.writes
        print(f"[{kind}] writes: {w['posted']} score posts answered 2xx ({w['rate_per_s']}/s of "
              f"{PACED_RATE * MATCHES:g}/s planned), {w['match_row_writes']} match-row writes = "
              f"{w['writes_per_update']} per update; settled {w['writes_after_settled']}; "
              f"mismatches {w['mismatches']}, unchecked {w['unchecked']}", flush=True)  # fmt: skip
    except OverBudget:
        run.note = f"failed: over the time budget ({options.budget_seconds:g} s)"
    except Exception as error:
        traceback.print_exc()
        first = (str(error).strip().splitlines() or [""])[0]  # the whole of it is printed just above
        run.note = f"failed: {type(error).__name__}: {first}"[:300].replace("|", "/")
    finally:
        if run.logs:
            with contextlib.suppress(OSError):
                run.too_many_clients = Path(run.logs[0]).read_text(errors="replace").count("too many clients")
        with no_alarm():
            EXIT.close()  # its servers, its database, its files (the logs stay in LOGS)
            with contextlib.suppress(Exception):
                redis.flushdb()
    run.wall_s = round(time.monotonic() - began, 1)
    return run


def client_ceiling(clients: Clients, options) -> dict:
    """The same client processes against a trivial asyncio HTTP server: what they can drive at most."""
    server = subprocess.Popen([sys.executable, "-m", "bench.api_client", "serve"], cwd=ROOT, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, process_group=0)  # fmt: skip
    CLIENT_PROCESSES.append(server)
    try:
        ready: queue.Queue = queue.Queue()
        threading.Thread(target=lambda: ready.put(server.stdout.readline()), daemon=True).start()
        port = int(json.loads(ready.get(timeout=15))["port"])

        def cpu() -> dict:
            return {"web": procstat.cpu_seconds(server.pid), "bench": time.process_time()}

        return closed_phase(clients, None, "plain", port, CEILING_SECONDS, options, None, cpu_of=cpu)
    finally:
        with no_alarm():
            with contextlib.suppress(OSError):
                server.stdin.close()
            try:
                server.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait(5)


# --- the report ------------------------------------------------------------------------------------------


def machine() -> str:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory = ""
    with contextlib.suppress(OSError, ValueError, IndexError):
        kib = int(Path("/proc/meminfo").read_text().split("MemTotal:")[1].split()[0])
        memory = f", {kib / 1024 / 1024:.0f} GiB"
    nproc = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    python = platform.python_version()
    return f"{platform.platform()}, {model or platform.machine()}, nproc {nproc}{memory}, Python {python}"


def redis_version(redis) -> str:
    info = redis.info("server")
    if info.get("valkey_version"):
        return f"Valkey {info['valkey_version']}"
    return f"Redis {info.get('redis_version', '?')}"


def status(passed: bool | None) -> str:
    return "n/a" if passed is None else ("**PASS**" if passed else "**MISS**")


def targets(runs: list[DatabaseRun]) -> list[dict]:
    checks = []
    for run in runs:
        score, floor = run.throughput.get("score"), run.throughput.get("drf-floor")
        if score and floor and floor["requests_per_s"]:
            ratio = score["requests_per_s"] / floor["requests_per_s"]
            checks.append({"database": run.kind, "target": f"score throughput ≥ {TARGET_SCORE_VS_FLOOR:g}× DRF floor",
                           "measured": f"{ratio:.2f}×", "passed": ratio >= TARGET_SCORE_VS_FLOOR})  # fmt: skip
        else:
            checks.append({"database": run.kind, "target": f"score throughput ≥ {TARGET_SCORE_VS_FLOOR:g}× DRF floor",
                           "measured": run.note or "not measured", "passed": None})  # fmt: skip
        p99 = score["p99_ms"] if score else None
        checks.append({"database": run.kind, "target": f"score p99 ≤ {TARGET_P99_MS:g} ms at 32 concurrent",
                       "measured": f"{p99} ms" if p99 is not None else (run.note or "not measured"),
                       "passed": None if p99 is None else p99 <= TARGET_P99_MS})  # fmt: skip
        w = run.writes
        per = w.get("writes_per_update")
        target = f"match-row writes per score update ≤ {TARGET_WRITES_PER_UPDATE:g}"
        checks.append({"database": run.kind, "target": target,
                       "measured": f"{per}" if per is not None else (run.note or "not measured"),
                       "passed": None if per is None else per <= TARGET_WRITES_PER_UPDATE})  # fmt: skip
        answers = [*run.throughput.values(), *([w] if w else [])]
        if answers:
            non = sum(a["non_2xx"] for a in answers)
            errors = sum(sum(a["errors"].values()) for a in answers)
            checks.append({"database": run.kind, "target": "every answer 2xx, no connection error (all phases)",
                           "measured": f"{non} non-2xx, {errors} connection errors",
                           "passed": non == 0 and errors == 0})  # fmt: skip
        if w:
            bad = len(w["mismatches"]) + len(w["unchecked"])
            checks.append({"database": run.kind, "target": "database score = last score posted, every match",
                           "measured": f"{len(w['mismatches'])} mismatches, {len(w['unchecked'])} unchecked",
                           "passed": bad == 0})  # fmt: skip
        else:
            checks.append({"database": run.kind, "target": "database score = last score posted, every match",
                           "measured": run.note or "not measured", "passed": None})  # fmt: skip
    return checks


def fmt(value) -> str:
    return "-" if value is None else str(value)


def report(runs: list[DatabaseRun], ceiling: dict | None, options, header: dict) -> str:
    clients = options.client_processes * options.connections
    lines = [
        "# HTTP API: the score write path — `python -m bench.api`",
        "",
        f"Run of {header['date']} on {header['machine']}; {header['redis']}; command `{header['command']}`; "
        f"wall time {header['wall_s']} s.",
        "",
        f"One uvicorn worker process (project/processes.py's command line, access log on), a Celery worker "
        f"({processes.HARNESS_WORKER_CONCURRENCY} threads) and beat, one Redis, all on this machine with the "
        f"clients: {clients} concurrent closed-loop clients ({options.client_processes} processes × "
        f"{options.connections} keep-alive HTTP/1.1 connections, raw asyncio streams on uvloop), "
        f"{options.seconds:g} s per system after a {WARMUP_S:g} s warmup. Score throttle "
        f"`SCORE_THROTTLE_RATE={THROTTLE_RATE}` (it runs, never refuses). Latency: request written → "
        "response read, 10 µs buckets. Throughput and latency count 2xx answers only (an error answer is "
        "no throughput); non-2xx are counted apart. CPU: seconds over the counted window, per 2xx answer. "
        f"PostgreSQL connection pool per process (`DATABASE_POOL_SIZE`): {header['pool_size']}.",
        "",
        "## Throughput",
        "",
        "| database | system | 2xx answers | 2xx/s | p50 ms | p99 ms | max ms | non-2xx | connection errors "
        "| server CPU s (µs/answer) | clients CPU µs/answer | worker CPU s | Redis CPU s | PostgreSQL CPU s "
        "| load avg |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        if run.note and not run.throughput:
            lines.append(f"| {run.kind} | {run.note} |" + " |" * 13)
        for system in SYSTEMS:
            r = run.throughput.get(system)
            if not r:
                continue
            non = f"{r['non_2xx']}" + (f" {r['statuses']}" if r["non_2xx"] else "")
            errors = sum(r["errors"].values())
            cells = [
                f"{run.kind} ({run.version})", LABELS[system], r["completed"], r["requests_per_s"], r["p50_ms"],
                r["p99_ms"], r["max_ms"], non, f"{errors} {r['errors']}" if errors else 0,
                f"{r['cpu_s']['web']} ({r['server_cpu_us_per_request']})", r["client_cpu_us_per_request"],
                r["cpu_s"]["worker"], r["cpu_s"]["redis"], r["cpu_s"]["database"] if run.kind == "postgres" else "-",
                r["load_average"],
            ]  # fmt: skip
            lines.append("| " + " | ".join(fmt(c) for c in cells) + " |")
    if ceiling:
        lines += [
            "",
            f"Client ceiling (same client processes, {CEILING_SECONDS:g} s against a trivial asyncio HTTP server, "
            f"`python -m bench.api_client serve`, on the same cores): **{ceiling['requests_per_s']} req/s**, "
            f"p50 {ceiling['p50_ms']} ms, p99 {ceiling['p99_ms']} ms, clients {ceiling['client_cpu_us_per_request']} "
            f"µs CPU per request, server {ceiling['server_cpu_us_per_request']} µs.",
        ]
    lines += [
        "",
        "## Ratios",
        "",
        "| database | score ÷ DRF floor | score ÷ plain | DRF floor ÷ plain |",
        "|---|---|---|---|",
    ]
    for run in runs:
        t = run.throughput
        if not all(t.get(s, {}).get("requests_per_s") for s in SYSTEMS):
            lines.append(f"| {run.kind} | {run.note or 'not measured'} | | |")
            continue
        plain, floor, score = (t[s]["requests_per_s"] for s in SYSTEMS)
        lines.append(f"| {run.kind} | **{score / floor:.2f}×** | {score / plain:.2f}× | {floor / plain:.2f}× |")
    lines += [
        "",
        "## Database writes",
        "",
        f"{PACED_RATE:g} score posts/s per match on the {MATCHES} live matches ({PACED_RATE * MATCHES:g}/s), "
        f"{PACED_SECONDS:g} s, each match posted by one connection in order (so the last score answered is the "
        "last posted). Match-row writes are counted by the database: a trigger on `tournaments_match` AFTER "
        "UPDATE FOR EACH ROW increments a per-match counter row (`bench_match_writes`) in the writer's own "
        f"transaction. The count is read once it has not changed for {options.quiet_seconds:g} s (two sweep "
        f"intervals and a second; at most {SETTLE_TIMEOUT_S:g} s), before the posts (so that earlier deferred "
        "writes do not count) and after them.",
        "",
        "| database | score posts answered 2xx (of planned) | posts/s | non-2xx | p50 / p99 ms | match-row writes "
        "| writes per update | last write after the posts, s | DB score = last posted |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        w = run.writes
        if not w:
            lines.append(f"| {run.kind} | {run.note or 'not measured'} |" + " |" * 7)
            continue
        settled = w["writes_after_settled"]
        last = f"{settled['last_change_s']}" + (" (timed out)" if settled["timed_out"] else "")
        agree = (f"{MATCHES - len(w['mismatches']) - len(w['unchecked'])} of {MATCHES}"
                 + (f"; mismatches {w['mismatches']}" if w["mismatches"] else "")
                 + (f"; unchecked {w['unchecked']}" if w["unchecked"] else ""))  # fmt: skip
        non = f"{w['non_2xx']}" + (f" {w['statuses']}" if w["non_2xx"] else "")
        cells = [run.kind, f"{w['posted']} (of {w['planned']})", w["rate_per_s"], non,
                 f"{w['p50_ms']} / {w['p99_ms']}", w["match_row_writes"], f"**{w['writes_per_update']}**", last,
                 agree]  # fmt: skip
        lines.append("| " + " | ".join(fmt(c) for c in cells) + " |")
    checks = targets(runs)
    lines += ["", "## Targets", "", "| database | target | measured | met |", "|---|---|---|---|"]
    for c in checks:
        lines.append(f"| {c['database']} | {c['target']} | {c['measured']} | {status(c['passed'])} |")
    notes = [run for run in runs if run.note]
    if notes:
        lines += ["", "Failed runs: " + "; ".join(f"{r.kind}: {r.note}" for r in notes) + f" (logs in {LOGS})"]
    for run in runs:
        if run.too_many_clients:
            lines += [
                "",
                f"**{run.kind}: PostgreSQL refused connections** ({run.too_many_clients} 'too many clients' lines in "
                "the web server's log; the 503s above): more connections were opened than PostgreSQL's "
                "max_connections (100 here). Under ASGI each request's sync code runs in a thread of its own, "
                "so connections kept per thread leak; the project keeps none and pools them per process.",
            ]
    lines += [
        "",
        "Caveats: clients, server, worker, beat, Redis and PostgreSQL share the machine's cores; the clients' "
        "CPU per request is in the table (compare it with the server's), and the client ceiling says how far "
        "they are from being the bottleneck. One uvicorn process is one interpreter (one GIL): Django's sync "
        "views run one at a time, so at 32 concurrent every system's p99 is mostly queueing, about 32 × its "
        "service time. "
        "The baselines are mounted outside /api/ (no body-size ASGI wrapper: a few µs).",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--databases", default="sqlite,postgres", help="comma-separated: sqlite, postgres")
    parser.add_argument("--seconds", type=float, default=8.0, help="counted seconds per system (after a 1 s warmup)")
    parser.add_argument("--client-processes", type=int, default=4)
    parser.add_argument("--connections", type=int, default=8, help="keep-alive connections per client process")
    parser.add_argument("--quiet-seconds", type=float, default=quiet_seconds(),
                        help="the match-row count is settled once unchanged for this long")  # fmt: skip
    parser.add_argument("--pool-size", type=int, default=None,
                        help="DATABASE_POOL_SIZE of the stack (0: no pool)")  # fmt: skip
    parser.add_argument("--profile", action="store_true",
                        help="record the web process with py-spy while measured")  # fmt: skip
    parser.add_argument("--budget-seconds", type=float, default=280, help="the whole run, at most")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks" / "api.md")
    options = parser.parse_args()
    databases = [d.strip() for d in options.databases.split(",") if d.strip()]
    unknown = set(databases) - {"sqlite", "postgres"}
    if unknown or not databases:
        sys.exit(f"--databases: choose from sqlite, postgres (got {options.databases!r})")
    if not 1 <= options.client_processes <= 64 or not 1 <= options.connections <= 256:
        sys.exit("--client-processes must be 1..64 and --connections 1..256")
    if not 0 < options.seconds <= 60:
        sys.exit("--seconds must be in (0, 60]")
    url = os.environ.get("REDIS_URL")
    if not url:
        sys.exit("REDIS_URL is not set: run it as `python -m project.localredis --port 0 -- python -m bench.api`")
    host = urllib.parse.urlsplit(url).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        sys.exit(f"REDIS_URL points at {host}: this benchmark flushes its Redis, and runs on 127.0.0.1 only")

    import redis as redis_py

    def over_budget(signum, frame):
        raise OverBudget

    def terminated(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGALRM, over_budget)
    signal.signal(signal.SIGTERM, terminated)
    signal.alarm(max(1, int(options.budget_seconds)))
    began = time.monotonic()
    redis = redis_py.Redis.from_url(url)
    pool_size = options.pool_size if options.pool_size is not None else os.environ.get("DATABASE_POOL_SIZE")
    header = {
        "pool_size": pool_size if pool_size is not None else "unset (the project's default, 10)",
        "date": datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "machine": machine(),
        "redis": redis_version(redis),
        "command": "python -m bench.api " + " ".join(sys.argv[1:]) if sys.argv[1:] else "python -m bench.api",
    }
    global LOGS
    LOGS = Path(tempfile.mkdtemp(prefix="bench-api-logs-"))
    print(f"HTTP API benchmark: {header['machine']}; {header['redis']}; logs in {LOGS}", flush=True)
    runs: list[DatabaseRun] = []
    ceiling = None
    clients = Clients(options.client_processes)
    try:
        try:
            ceiling = client_ceiling(clients, options)
            print(f"client ceiling: {ceiling['requests_per_s']} req/s (p99 {ceiling['p99_ms']} ms, clients "
                  f"{ceiling['client_cpu_us_per_request']} µs CPU/req)", flush=True)  # fmt: skip
        except OverBudget:
            raise
        except Exception as error:
            print(f"client ceiling failed: {type(error).__name__}: {error}", flush=True)
        for kind in databases:
            if runs and any(r.note.startswith("failed: over the time budget") for r in runs):
                runs.append(DatabaseRun(kind, note="skipped: the time budget is spent"))
                continue
            runs.append(run_database(kind, clients, options, redis))
    except OverBudget:
        runs += [DatabaseRun(k, note="skipped: the time budget is spent") for k in databases[len(runs) :]]
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, signal.SIG_IGN)
        with no_alarm():
            clients.close()
            stop_everything()
    header["wall_s"] = round(time.monotonic() - began, 1)
    text = report(runs, ceiling, options, header)
    print()
    print(text)
    options.out.parent.mkdir(parents=True, exist_ok=True)
    options.out.write_text(text)
    print(f"written to {options.out}")
    troubled = [r for r in runs if r.note or any(t["non_2xx"] or t["errors"] for t in r.throughput.values())
                or (r.writes and (r.writes["non_2xx"] or r.writes["errors"]))]  # fmt: skip
    if troubled:
        print(f"servers' logs kept in {LOGS} (failed runs, non-2xx answers or connection errors)")
    elif options.profile:
        print(f"servers' logs and py-spy profiles (raw stacks) kept in {LOGS}")
    else:
        shutil.rmtree(LOGS, ignore_errors=True)
    checks = targets(runs)
    if any(r.note for r in runs) or any(c["passed"] is None for c in checks):
        sys.exit(2)
    if not all(c["passed"] for c in checks):
        sys.exit(1)


if __name__ == "__main__":
    main()

"""Load benchmark at scale: `make bench-load`.

Runs the real stack (uvicorn, a Celery worker, Redis) and real WebSocket clients in separate
processes, and the same clients in the same run against baselines: bare Channels (both
channels-redis layers, a `group_send` per update: the naive design) and a native fan-out reference
(nginx with the nchan module, bench/native.py: C, pub/sub only, a frame per update), so every figure
has a baseline measured beside it. Traffic stays on 127.0.0.1; every run is bounded in time, and the
whole command by --budget-minutes (runs that would not fit are skipped, and reported as skipped).

    python -m bench.load [--scenarios 2,4] [--systems product,native-nchan] [--seconds 12]
                         [--fanout-steps 250,500,1000] [--budget-minutes 15] [--out docs/benchmarks]

Clients (bench/load_client.py, 250 sockets per process) apply a `batch` frame's entries each as a
`score_updated` frame, and check on bracket-page (tournament room) sockets that score-carrying frames
come at most once per room window (REALTIME_ROOM_WINDOW_MS).
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import contextlib
import inspect
import json
import logging
import math
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bench import native, procstat

ROOT = Path(__file__).resolve().parent.parent
PRODUCT, BARE_PUBSUB, BARE_CORE, NATIVE = "product", "bare-pubsub", "bare-core", "native-nchan"
SYSTEMS = (PRODUCT, BARE_PUBSUB, BARE_CORE, NATIVE)
SOCKETS_PER_CLIENT_PROCESS = 250
DRAIN_S = 1.5  # after the last update: the last windows, the last deliveries
MAX_SETTLE_S = 5.0  # then up to this long more, until every client has read nothing for 0.5 s: "the end"
# CPU and memory are read at the end, so every frame counted was also paid for.
DEFAULT_JITTER_MS = 5.0  # client-side jitter allowed in the room-window check

# The spec's targets.
TARGET_CPU_US_PER_DELIVERY = 40.0  # product, fan-out scenario: server CPU ÷ frames delivered
TARGET_KIB_PER_CONNECTION = 40.0  # product, fan-out scenario
TARGET_P99_MS = 500.0  # product, 256-bracket and ceiling scenarios (with 0 out of order, 0 stale)


@dataclass(frozen=True)
class Scenario:
    name: str
    matches: int
    rate: float  # updates per second per match (0: one burst of `burst` updates per match)
    spectators: int
    tournament_room_share: float = 0.5  # the rest spread over the match rooms
    burst: int = 0
    # Fan-out only: the product publishes each update at once from the generator (the flush script,
    # as a completion does) instead of one window later from a worker. At 5 updates/s per match there
    # is nothing to coalesce; this compares the delivery pipelines broadcast for broadcast.
    publish_inline: bool = False
    systems: tuple[str, ...] = SYSTEMS  # measured by default (--systems overrides)
    web_processes: int = 1  # ASGI processes of the product and bare Channels (nginx: worker processes)


FANOUT = "1000 spectators in one room, 5 broadcasts/s"
CEILING = "100 matches x 10 upd/s, 1000 spectators"
BRACKET_256 = "round one of a 256-player bracket: 128 matches x 2 upd/s, 2000 spectators"

# Indexes are the --scenarios names: new scenarios go at the end.
SCENARIOS = {
    s.name: s
    for s in (
        Scenario("1 match x 100 upd/s, 100 spectators", matches=1, rate=100, spectators=100),
        Scenario(CEILING, matches=100, rate=10, spectators=1000),
        Scenario(FANOUT, matches=1, rate=5, spectators=1000, tournament_room_share=1.0, publish_inline=True),
        Scenario(
            "burst: 100 matches x 50 updates at once, 200 spectators", matches=100, rate=0, spectators=200, burst=50
        ),  # fmt: skip
        # Every naive system would owe each bracket-page socket 256 frames/s (1600 × 256 ≈ 410 000
        # frames/s): more than the Python clients on this machine can read, so the figures would be
        # the clients'. The product alone by default (--systems adds the others).
        Scenario(BRACKET_256, matches=128, rate=2, spectators=2000, tournament_room_share=0.8, systems=(PRODUCT,)),
    )
}
# The targets first: a run cut short by the time budget still has them.
DEFAULT_ORDER = [2, 4, 1, 0, 3]
FANOUT_SWEEP_SYSTEMS = (PRODUCT, BARE_PUBSUB, NATIVE)


@dataclass
class Result:
    scenario: str
    system: str
    spectators: int
    note: str = ""  # why a run was skipped or failed
    updates: int = 0
    planned_updates: int = 0  # what the scenario asks for: fewer issued means the generator fell behind
    deliveries: int = 0  # scores applied by clients: single frames plus batch entries
    frames: int = 0  # WebSocket frames carrying scores (a batch is one)
    batch_frames: int = 0
    seconds: float = 0.0
    latency_ms: dict = field(default_factory=dict)  # p50, p95, p99, max
    deliveries_per_s: float = 0.0
    broadcasts_per_update: float = 0.0  # deliveries ÷ deliveries if every update were broadcast
    frames_per_naive: float = 0.0  # WebSocket frames ÷ frames if every update were broadcast
    enqueues_per_update: float = 0.0
    out_of_order: int = 0
    stale_at_end: int = 0  # (connection, match) pairs not showing the last score after the run
    never_received: int = 0  # ... of which the connection never got a score of that match
    dropped_connections: int = 0  # closed by the server during the run
    refused_connections: int = 0  # never got their first frame, after retries (counted stale too)
    connect_retries: int = 0  # connections refused (1013, ...) or failing before their first frame, retried
    connect_errors: dict = field(default_factory=dict)  # why
    settle_s: float = 0.0  # from the last update to "the end": every client idle for 0.5 s
    still_receiving_at_end: bool = False  # some client was still reading frames at the end (a backlog)
    frames_parsed_with_json: int = 0  # frames the clients' fast path did not recognize (bare: all)
    server_log: str = ""
    unmatched_deliveries: int = 0  # scores the generator never sent (should be 0)
    server_processes: int = 0
    server_cpu_s: float = 0.0
    worker_cpu_s: float = 0.0
    redis_cpu_s: float = 0.0
    client_cpu_s: float = 0.0  # the WebSocket clients (same machine: what they use, the servers cannot)
    generator_cpu_s: float = 0.0  # this process issuing the updates
    server_cpu_us_per_frame: float = 0.0
    server_cpu_us_per_delivery: float = 0.0
    server_peak_rss_mib: float = 0.0
    memory_per_connection_kib: float = 0.0
    # the room window, on bracket-page sockets
    room_window_ms: float = 0.0
    room_sockets: int = 0
    room_frames: int = 0  # score-carrying frames received by bracket-page sockets
    room_batch_frames: int = 0
    window_violations: int = 0  # consecutive frames on one socket read less than window − jitter apart
    window_violations_spread: int = 0  # ... whose texts were first read a window apart (write-order spread)
    window_violations_client_lag: int = 0  # ... explained by the client's own event-loop lag
    window_violations_unexplained: int = 0  # ... neither: the server sent them closer than the window
    min_room_gap_ms: float | None = None  # smallest gap one socket saw
    min_emission_gap_ms: float | None = None  # smallest gap between first readings of the room's frames
    max_room_deficit_ms: float | None = None
    max_frames_per_window: int = 0  # most frames one socket read within one window − jitter
    batch_frames_per_socket: list = field(default_factory=list)  # fewest and most on one bracket-page socket
    client_loop_lag_ms: dict = field(default_factory=dict)  # worst p99 and max over client processes
    load_average: float = 0.0  # 1-minute load average when the run started (the machine is shared)
    wall_s: float = 0.0  # the whole run: servers' start, connections, load, drain, shutdown
    histogram: dict = field(default_factory=dict, repr=False)  # latency bucket (0.1 ms) -> count


# --- processes ---------------------------------------------------------------------------------------


class Output:
    """A child process's output, read by a thread: every line goes to its log file (if any), and the
    lines the bench waits for to a queue, so every wait has a deadline even if the child hangs."""

    def __init__(self, process: subprocess.Popen, log: Path | None = None) -> None:
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.listening = True  # servers: stop queueing once they serve (their logs only go to the file)
        self.log = log
        threading.Thread(target=self._read, args=(process,), daemon=True).start()

    def _read(self, process: subprocess.Popen) -> None:
        log = self.log.open("w") if self.log else None
        try:
            for line in process.stdout:
                if log:
                    log.write(line)
                    log.flush()
                if self.listening:
                    self.lines.put(line)
        finally:
            self.lines.put(None)
            if log:
                log.close()

    def wait_for(self, texts: dict[str, int], timeout: float = 60) -> list[str]:
        """Lines until each text has been seen as many times as asked; the matching lines."""
        wanted, matched = dict(texts), []
        deadline = time.monotonic() + timeout
        while any(count > 0 for count in wanted.values()):
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise RuntimeError(f"no {list(wanted)!r} within {timeout:g}s") from None
            if line is None:
                raise RuntimeError(f"process exited before printing {list(wanted)!r}")
            for text in wanted:
                if text in line:
                    wanted[text] -= 1
                    matched.append(line)
        return matched

    def rest(self, timeout: float) -> str:
        """Everything until the process closes its output."""
        parts, deadline = [], time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise RuntimeError(f"no end of output within {timeout:g}s") from None
            if line is None:
                return "".join(parts)
            parts.append(line)


# Every process a run starts: stopped after each run and at exit, even when a run fails half-way.
started_processes: list[subprocess.Popen] = []
started_nginx: list[native.NchanServer] = []
LOGS = Path(tempfile.mkdtemp(prefix="bench-load-logs-"))


def start(args: list[str], env: dict, log_name: str) -> tuple[subprocess.Popen, Output]:
    process = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    started_processes.append(process)
    return process, Output(process, LOGS / log_name)


def stop_process(process: subprocess.Popen, timeout: float = 10) -> None:
    """SIGTERM (uvicorn's supervisor then stops its workers), then SIGKILL to what is left of its tree."""
    if process.poll() is not None:
        return
    family = procstat.child_pids(process.pid)
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    for pid in family:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


@atexit.register
def stop_started_processes() -> None:
    for process in started_processes:
        stop_process(process, timeout=5)
    for server in started_nginx:
        server.stop()
    started_processes.clear()
    started_nginx.clear()


def asgi_command(port: int, workers: int) -> list[str]:
    """The project's uvicorn command line, with `workers` processes."""
    from project import processes

    if "workers" in inspect.signature(processes.asgi_server).parameters:
        return processes.asgi_server("127.0.0.1", port, workers=workers)
    args = processes.asgi_server("127.0.0.1", port)
    return args + ["--workers", str(workers)] if workers > 1 else args


def start_asgi(args: list[str], env: dict, workers: int, log_name: str) -> subprocess.Popen:
    from project import processes

    server, output = start(args, {**env, "WEB_CONCURRENCY": str(workers)}, log_name)
    texts = {processes.ASGI_READY: 1}
    if workers > 1:
        texts[getattr(processes, "ASGI_WORKER_STARTED", "Started server process [")] = workers
    output.wait_for(texts)
    output.listening = False
    return server


def redis_cpu_seconds(redis) -> float:
    info = redis.info("cpu")
    return float(info.get("used_cpu_sys", 0)) + float(info.get("used_cpu_user", 0))


# --- one run -------------------------------------------------------------------------------------------


class Skipped(Exception):
    pass


def run(scenario: Scenario, system: str, env: dict, tournament_id: int, match_ids: list[int],
        seconds: float, options, spectators: int | None = None, label: str = "run") -> Result:  # fmt: skip
    from project.localredis import free_port
    from realtime.store import scripts

    began = time.monotonic()
    spectators = spectators or scenario.spectators
    result = Result(scenario.name, system, spectators, load_average=round(os.getloadavg()[0], 2))
    result.room_window_ms = options.room_window_ms
    matches = match_ids[: scenario.matches]
    if len(matches) < scenario.matches:
        raise RuntimeError(f"{scenario.name}: needs {scenario.matches} live matches, the bench has {len(matches)}")
    port = free_port()
    worker = None
    nginx = None
    result.server_processes = scenario.web_processes
    result.server_log = str(LOGS / f"{label}-server.log")
    if system == PRODUCT:
        from project import processes

        args = asgi_command(port, scenario.web_processes)
        server = start_asgi(args, env, scenario.web_processes, f"{label}-server.log")
        room_paths = (f"ws/tournament/{tournament_id}/", [f"ws/match/{m}/" for m in matches])
        worker, output = start(processes.celery_worker(f"bench-{port}@%h"), env, f"{label}-worker.log")
        output.wait_for({processes.WORKER_READY: 1})
        output.listening = False
    elif system in (BARE_PUBSUB, BARE_CORE):
        server_env = {**env, "DJANGO_SETTINGS_MODULE": "bench.bare_settings", "BENCH_LAYER": system.split("-")[1]}
        args = asgi_command(port, scenario.web_processes)
        args[args.index("project.asgi:application")] = "bench.bare_asgi:application"
        server = start_asgi(args, server_env, scenario.web_processes, f"{label}-server.log")
        room_paths = ("bare/t/", [f"bare/m{m}/" for m in matches])
    elif system == NATIVE:
        if not options.native_ok:
            raise Skipped(f"skipped: native reference unavailable ({options.native_status})")
        nginx = native.NchanServer(port, workers=scenario.web_processes)
        started_nginx.append(nginx)
        server = nginx.start()
        result.server_log = str(nginx.error_log)
        room_paths = ("sub/t/", [f"sub/m{m}/" for m in matches])
    else:
        raise ValueError(f"unknown system {system!r}")
    server_pids = procstat.tree(server.pid)
    result.server_processes = len(server_pids) - 1 if len(server_pids) > 1 else 1

    in_tournament_room = round(spectators * scenario.tournament_room_share)
    paths = [room_paths[0]] * in_tournament_room + [
        room_paths[1][i % len(room_paths[1])] for i in range(spectators - in_tournament_room)
    ]
    expect = {room_paths[0]: matches, **{path: [m] for path, m in zip(room_paths[1], matches, strict=True)}}
    rss_before = procstat.tree_kib(server_pids, "VmRSS")
    client_count = max(1, math.ceil(len(paths) / SOCKETS_PER_CLIENT_PROCESS))
    client_processes, outputs = [], []
    for number in range(client_count):
        chunk = paths[number::client_count]  # round robin: every process gets its share of each room
        config = {
            "base": f"ws://127.0.0.1:{port}/",
            "origin": f"http://127.0.0.1:{port}",
            "paths": chunk,
            "expect": {path: expect[path] for path in set(chunk)},
            "room_paths": [room_paths[0]],
            "await_first": [path for path in set(chunk) if path.startswith("ws/")],  # the product's snapshot
            "window_ms": options.room_window_ms,
            "jitter_ms": options.jitter_ms,
        }
        client = subprocess.Popen([sys.executable, "-m", "bench.load_client"], cwd=ROOT, env=env,
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)  # fmt: skip
        started_processes.append(client)  # its stderr is ours: a failing client says why
        client.stdin.write(json.dumps(config) + "\n")
        client.stdin.flush()
        client_processes.append(client)
        outputs.append(Output(client))
    for output in outputs:  # they connect at the same time
        output.wait_for({"READY": 1}, timeout=240)
    time.sleep(1.0)  # let snapshots and handshakes settle before measuring
    server_pids = procstat.tree(server.pid)
    result.memory_per_connection_kib = round((procstat.tree_kib(server_pids, "VmRSS") - rss_before) / spectators, 1)

    redis = scripts.client()
    lpush_before = int(redis.info("commandstats").get("cmdstat_lpush", {}).get("calls", 0))
    redis_cpu_before = redis_cpu_seconds(redis)
    cpu_before = procstat.tree_cpu_seconds(server_pids)
    worker_cpu_before = procstat.cpu_seconds(worker.pid) if worker else 0.0
    client_pids = [client.pid for client in client_processes]
    client_cpu_before = procstat.tree_cpu_seconds(client_pids)
    generator_cpu_before = time.process_time()
    sent: dict[tuple[int, int], float] = {}
    started = time.monotonic()
    if system == PRODUCT:
        updates = generate_product(scenario, tournament_id, matches, seconds, sent)
    elif system == NATIVE:
        updates = generate_native(scenario, tournament_id, matches, seconds, sent, port)
    else:
        updates = asyncio.run(generate_bare(scenario, system.split("-")[1], matches, seconds, sent))
    result.seconds = round(time.monotonic() - started, 2)
    result.generator_cpu_s = round(time.process_time() - generator_cpu_before, 2)
    time.sleep(DRAIN_S)
    # "at the end": once every client has read nothing for a while (at most MAX_SETTLE_S more)
    for client in client_processes:
        client.stdin.write(json.dumps({"max_settle_s": MAX_SETTLE_S}) + "\n")
        client.stdin.flush()
    for output in outputs:
        settled = json.loads(output.wait_for({"SETTLED": 1}, timeout=MAX_SETTLE_S + 60)[0].split(" ", 1)[1])
        result.settle_s = max(result.settle_s, round(DRAIN_S + settled["waited_s"], 2))
        result.still_receiving_at_end = result.still_receiving_at_end or settled["still_receiving"]
    result.client_cpu_s = round(procstat.tree_cpu_seconds(client_pids) - client_cpu_before, 2)
    result.server_cpu_s = round(procstat.tree_cpu_seconds(server_pids) - cpu_before, 2)
    result.worker_cpu_s = round(procstat.cpu_seconds(worker.pid) - worker_cpu_before, 2) if worker else 0.0
    result.redis_cpu_s = round(redis_cpu_seconds(redis) - redis_cpu_before, 2) if system != NATIVE else 0.0
    result.server_peak_rss_mib = round(procstat.tree_kib(server_pids, "VmHWM") / 1024, 1)
    lpush = int(redis.info("commandstats").get("cmdstat_lpush", {}).get("calls", 0)) - lpush_before
    result.updates = updates
    result.planned_updates = scenario.burst * scenario.matches or round(scenario.rate * scenario.matches * seconds)
    result.enqueues_per_update = round(lpush / max(updates, 1), 3) if system == PRODUCT else 0.0

    stop = json.dumps({"sent": [[m, s, at] for (m, s), at in sent.items()]}) + "\n"
    for client in client_processes:
        client.stdin.write(stop)
        client.stdin.flush()
    reports = []
    for client, output in zip(client_processes, outputs, strict=True):
        out = output.rest(timeout=180)
        client.wait(timeout=60)
        reports.append(json.loads(out[out.index("{") :]))
    if nginx:
        nginx.stop()
    else:
        stop_process(server)
    if worker:
        stop_process(worker)

    combine(result, reports)
    result.deliveries_per_s = round(result.deliveries / max(result.seconds, 0.001), 1)
    naive = in_tournament_room * updates + (spectators - in_tournament_room) * updates / scenario.matches
    result.broadcasts_per_update = round(result.deliveries / max(naive, 1), 3)
    result.frames_per_naive = round(result.frames / max(naive, 1), 4)
    if result.frames:
        result.server_cpu_us_per_frame = round(result.server_cpu_s / result.frames * 1e6, 1)
    if result.deliveries:
        result.server_cpu_us_per_delivery = round(result.server_cpu_s / result.deliveries * 1e6, 1)
    result.wall_s = round(time.monotonic() - began, 1)
    return result


def combine(result: Result, reports: list[dict]) -> None:
    histogram: dict[int, int] = {}
    gaps, emission_gaps = [], []
    deficits = []
    lag_p99, lag_max = [], []
    for report in reports:
        for bucket, count in report["histogram"].items():
            histogram[int(bucket)] = histogram.get(int(bucket), 0) + count
        result.deliveries += report["deliveries"]
        result.frames += report.get("single_frames", 0) + report.get("batch_frames", 0)
        result.batch_frames += report.get("batch_frames", 0)
        result.out_of_order += report.get("out_of_order", 0)
        result.stale_at_end += report["stale"]
        result.never_received += report["never_received"]
        result.dropped_connections += report.get("closed_by_server", 0)
        result.refused_connections += report.get("refused", 0)
        result.connect_retries += report.get("connect_retries", 0)
        result.frames_parsed_with_json += report.get("parsed_with_json", 0)
        for error, count in report.get("errors", {}).items():
            result.connect_errors[error] = result.connect_errors.get(error, 0) + count
        result.unmatched_deliveries += report["unmatched"]
        result.room_sockets += report["room_sockets"]
        result.room_frames += report.get("room_batch_frames", 0) + report.get("room_single_frames", 0)
        result.room_batch_frames += report.get("room_batch_frames", 0)
        result.window_violations += report["window_violations"]
        result.window_violations_spread += report["window_violations_spread"]
        result.window_violations_client_lag += report["window_violations_client_lag"]
        result.window_violations_unexplained += report["window_violations_unexplained"]
        if report["min_emission_gap_ms"] is not None:
            emission_gaps.append(report["min_emission_gap_ms"])
        result.max_frames_per_window = max(result.max_frames_per_window, report["max_frames_per_window"])
        if report.get("batch_frames_per_socket"):
            low, high = report["batch_frames_per_socket"]
            spread = result.batch_frames_per_socket or [low, high]
            result.batch_frames_per_socket = [min(spread[0], low), max(spread[1], high)]
        if report["min_gap_ms"] is not None:
            gaps.append(report["min_gap_ms"])
        if report["max_deficit_ms"] is not None:
            deficits.append(report["max_deficit_ms"])
        if report["loop_lag_ms"]["p99"] is not None:
            lag_p99.append(report["loop_lag_ms"]["p99"])
            lag_max.append(report["loop_lag_ms"]["max"])
    result.min_room_gap_ms = min(gaps) if gaps else None
    result.min_emission_gap_ms = min(emission_gaps) if emission_gaps else None
    result.max_room_deficit_ms = max(deficits) if deficits else None
    result.client_loop_lag_ms = {"p99": max(lag_p99), "max": max(lag_max)} if lag_p99 else {}
    result.histogram = dict(sorted(histogram.items()))
    total = sum(histogram.values())
    if total:
        result.latency_ms = {f"p{p}": round(hist_percentile(result.histogram, total, p) / 10, 1) for p in (50, 95, 99)}
        result.latency_ms["max"] = round(max(histogram) / 10, 1)


def hist_percentile(histogram: dict[int, int], total: int, p: float) -> int:
    """The bucket holding the element at index int(total × p / 100) of the sorted latencies."""
    index = min(total - 1, int(total * p / 100))
    seen = 0
    for bucket, count in histogram.items():
        seen += count
        if seen > index:
            return bucket
    return max(histogram)


def paced(scenario: Scenario, matches: list[int], seconds: float):
    """(match_id, score) pairs at the scenario's pace; the score counts that match's updates."""
    counters = dict.fromkeys(matches, 0)
    if scenario.burst:
        for _ in range(scenario.burst):
            for match_id in matches:
                counters[match_id] += 1
                yield match_id, counters[match_id], 0.0
        return
    interval = 1.0 / (scenario.rate * len(matches))
    started = time.monotonic()
    index = 0
    while time.monotonic() - started < seconds:
        match_id = matches[index % len(matches)]
        counters[match_id] += 1
        yield match_id, counters[match_id], started + index * interval
        index += 1


def generate_product(scenario, tournament_id, matches, seconds, sent) -> int:
    from realtime import tasks
    from tournaments import services

    updates = 0
    for match_id, score, due in paced(scenario, matches, seconds):
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        sent[(match_id, score)] = time.monotonic()
        services.update_score(match_id=match_id, participant1_score=score, participant2_score=0)
        if scenario.publish_inline:
            tasks.flush(match_id, tournament_id, token=None)  # the worker's task then finds nothing to do
        updates += 1
    return updates


async def generate_bare(scenario, layer_kind, matches, seconds, sent) -> int:
    from channels_redis.core import RedisChannelLayer
    from channels_redis.pubsub import RedisPubSubChannelLayer
    from django.conf import settings

    layer = (
        RedisChannelLayer(hosts=[settings.REDIS_URL])
        if layer_kind == "core"
        else RedisPubSubChannelLayer(hosts=[{"address": settings.REDIS_URL, "socket_timeout": None}])
    )
    updates = 0
    for match_id, score, due in paced(scenario, matches, seconds):
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        sent[(match_id, score)] = time.monotonic()
        text = json.dumps({"type": "score_updated", "data": {"match_id": match_id, "sequence": score,
                           "participant1_score": score, "participant2_score": 0}})  # fmt: skip
        message = {"type": "bench.frame", "text": text}
        await layer.group_send("t", message)
        await layer.group_send(f"m{match_id}", message)
        updates += 1
    await layer.flush()
    return updates


def generate_native(scenario, tournament_id, matches, seconds, sent, port) -> int:
    """Each update's frame (the product's `score_updated` shape) POSTed to nchan: the tournament's
    channel, then the match's."""
    publisher = native.Publisher(port)
    updates = 0
    try:
        for match_id, score, due in paced(scenario, matches, seconds):
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            sent[(match_id, score)] = time.monotonic()
            body = json.dumps({"type": "score_updated", "data": {
                "match_id": match_id, "tournament_id": tournament_id, "sequence": score, "score_version": score,
                "participant1_score": score, "participant2_score": 0}}, separators=(",", ":")).encode()  # fmt: skip
            publisher.publish("t", body)
            publisher.publish(f"m{match_id}", body)
            updates += 1
    finally:
        publisher.close()
    return updates


# --- orchestration, report, plots ----------------------------------------------------------------------


def setup_database() -> tuple[dict, int, list[int]]:
    """A 256-player single-elimination tournament with its whole first round live: 128 matches."""
    work = Path(tempfile.mkdtemp(prefix="bench-"))
    atexit.register(shutil.rmtree, work, ignore_errors=True)
    os.environ["DATABASE_URL"] = f"sqlite:///{work / 'bench.sqlite3'}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from tournaments import services
    from tournaments.models import Match

    call_command("migrate", verbosity=0)
    organizer = get_user_model().objects.create_user(username="bench")
    tournament = services.create_tournament(
        name="Bench Cup", game="Chess", organizer=organizer, participant_names=[f"P{i}" for i in range(256)]
    )
    services.generate_bracket(tournament_id=tournament.id)
    match_ids = list(
        Match.objects.filter(tournament=tournament, round=1).order_by("position").values_list("id", flat=True)
    )
    for match_id in match_ids:
        services.start_match(match_id=match_id)
    needed = max(s.matches for s in SCENARIOS.values())
    if len(match_ids) < needed:
        raise RuntimeError(f"the bench tournament has {len(match_ids)} first-round matches, scenarios need {needed}")
    # servers as in production: no DEBUG (it records every SQL query and slows every request)
    # Every bench client connects from 127.0.0.1: lift the per-address connection cap (and the total
    # one, above the largest scenario). One ASGI process unless a scenario says otherwise.
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "DJANGO_DEBUG": "0",
        "REALTIME_MAX_CONNECTIONS_PER_ADDRESS": "100000",
        "REALTIME_MAX_CONNECTIONS": "100000",
        "WEB_CONCURRENCY": "1",
    }
    return env, tournament.id, match_ids


def room_window_ms() -> float:
    from django.conf import settings

    return float(getattr(settings, "REALTIME_ROOM_WINDOW_MS", os.environ.get("REALTIME_ROOM_WINDOW_MS", 200)))


def estimate_s(system: str, seconds: float, spectators: int) -> float:
    """A run's wall time: servers' start, connections (the product's with snapshots), load, drain,
    settling, shutdown (measured: 66 s for the product with 2000 spectators and 12 s of load)."""
    if system == PRODUCT:
        return seconds + 10 + spectators * 0.025
    return seconds + 6 + spectators * 0.005


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "client":
        sys.exit("the client is `python -m bench.load_client` now (one JSON line of configuration on stdin)")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    listing = "; ".join(f"{i}: {s.name}" for i, s in enumerate(SCENARIOS.values()))
    parser.add_argument(
        "--scenarios",
        default=",".join(str(i) for i in DEFAULT_ORDER),
        help=f"comma-separated indexes into the scenario list, run in that order ({listing})",
    )
    parser.add_argument(
        "--systems",
        default="",
        help=f"comma-separated systems for every scenario (default: each scenario's own): {', '.join(SYSTEMS)}",
    )
    parser.add_argument("--seconds", type=float, default=12)
    parser.add_argument("--fanout-steps", default="250,500,1000", help="spectator counts for the throughput plot")
    parser.add_argument("--budget-minutes", type=float, default=15,
                        help="skip the runs that would end past this (0: no limit)")  # fmt: skip
    parser.add_argument("--jitter-ms", type=float, default=DEFAULT_JITTER_MS,
                        help="client-side jitter allowed when checking the room window")  # fmt: skip
    parser.add_argument("--no-install", action="store_true", help="do not apt-get install nginx and nchan")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks")
    options = parser.parse_args()
    if not os.environ.get("REDIS_URL"):
        sys.exit("REDIS_URL is not set: run it with `make bench-load`")
    began = time.monotonic()
    systems = [s for s in options.systems.split(",") if s]
    unknown = set(systems) - set(SYSTEMS)
    if unknown:
        sys.exit(f"unknown systems {sorted(unknown)}: choose from {', '.join(SYSTEMS)}")
    scenarios = [list(SCENARIOS.values())[int(i)] for i in options.scenarios.split(",") if i != ""]
    wants_native = NATIVE in (systems or [s for sc in scenarios for s in sc.systems] + list(FANOUT_SWEEP_SYSTEMS))
    options.native_ok, options.native_status = (
        native.available(install=not options.no_install) if wants_native else (False, "not requested")
    )
    print(f"native reference (nginx + nchan): {'OK, ' if options.native_ok else 'UNAVAILABLE, '}"
          f"{options.native_status}", flush=True)  # fmt: skip
    if wants_native and not options.native_ok:
        print("  -> the native-nchan runs are SKIPPED, and every ratio to native is n/a", flush=True)
    env, tournament_id, match_ids = setup_database()
    # bare-core's generator: channels_redis says "N of M channels over capacity" per group_send
    logging.getLogger("channels_redis").setLevel(logging.WARNING)
    options.room_window_ms = room_window_ms()
    from realtime.store.scripts import client

    budget_s = options.budget_minutes * 60 if options.budget_minutes > 0 else math.inf
    plan = [(sc, system, options.seconds, None) for sc in scenarios for system in (systems or sc.systems)]
    sweep_systems = [s for s in FANOUT_SWEEP_SYSTEMS if not systems or s in systems]
    steps = [int(c) for c in options.fanout_steps.split(",") if c]
    plan += [(SCENARIOS[FANOUT], s, options.seconds / 2, count) for count in steps for s in sweep_systems]
    results, fanout = [], []
    print(f"{len(plan)} runs; servers' logs in {LOGS}", flush=True)
    for number, (scenario, system, seconds, count) in enumerate(plan, 1):
        spectators = count or scenario.spectators
        result = Result(scenario.name, system, spectators)
        elapsed = time.monotonic() - began
        if elapsed + estimate_s(system, seconds, spectators) > budget_s:
            result.note = f"skipped: time budget ({options.budget_minutes:g} min; {elapsed / 60:.1f} min used)"
        else:
            client().flushdb()
            try:
                label = f"{number:02d}-{system}"
                result = run(scenario, system, env, tournament_id, match_ids, seconds, options, count, label)
            except Skipped as skipped:
                result.note = str(skipped)
            except Exception as error:  # one failed run does not lose the others
                result.note = f"failed: {type(error).__name__}: {error}"[:300]
            finally:
                stop_started_processes()
        (fanout if count else results).append(result)
        print(summary(result, sweep=bool(count)), flush=True)
    options.out.mkdir(parents=True, exist_ok=True)
    checks = targets(results, options)
    document = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "seconds": options.seconds,
        "room_window_ms": options.room_window_ms,
        "jitter_ms": options.jitter_ms,
        "native_reference": options.native_status if options.native_ok else f"UNAVAILABLE: {options.native_status}",
        "cpus": os.cpu_count(),
        "wall_minutes": round((time.monotonic() - began) / 60, 1),
        "results": [{k: v for k, v in asdict(r).items() if k != "histogram"} for r in results],
        "fanout_sweep": [{k: v for k, v in asdict(r).items() if k != "histogram"} for r in fanout],
        "fanout_vs_native": fanout_rows(results),
        "targets": checks,
    }
    (options.out / "results.json").write_text(json.dumps(document, indent=1))
    try:
        plot(results, fanout, options.out)
    except Exception as error:  # a plot is no reason to lose the figures
        print(f"plots failed: {error}", file=sys.stderr)
    print()
    print(table(results))
    print()
    print(window_table(results, options))
    print()
    print(fanout_table(results, options))
    print()
    if fanout:
        print(sweep_table(fanout))
        print()
    print(targets_table(checks))
    print(f"\nwall time {document['wall_minutes']} min; results in {options.out / 'results.json'}")
    troubled = [
        r for r in results + fanout if r.note.startswith("failed") or r.connect_retries or r.dropped_connections
    ]
    if troubled:
        print(f"servers' logs kept in {LOGS} (failed runs, refused or dropped connections)")
    else:
        shutil.rmtree(LOGS, ignore_errors=True)


def summary(result: Result, sweep: bool = False) -> str:
    label = f"{'sweep ' if sweep else ''}{result.scenario} [{result.spectators}] | {result.system}"
    if result.note:
        return f"{label}: {result.note}"
    return (f"{label}: p99 {result.latency_ms.get('p99')} ms, {result.deliveries_per_s} deliveries/s, "
            f"{result.broadcasts_per_update} deliveries/naive, frames {result.frames} (batches {result.batch_frames}), "
            f"stale {result.stale_at_end}, out-of-order {result.out_of_order}, dropped {result.dropped_connections}, "
            f"server CPU {result.server_cpu_s} s = {result.server_cpu_us_per_frame} µs/frame, "
            f"{result.memory_per_connection_kib} KiB/conn, window violations {result.window_violations} "
            f"({result.window_violations_unexplained} unexplained), clients CPU {result.client_cpu_s} s, "
            f"load {result.load_average}, {result.wall_s} s wall"
            + (f", REFUSED {result.refused_connections} after {result.connect_retries} retries"
               f" {result.connect_errors} (server log {result.server_log})" if result.connect_retries else "")
            + (", still receiving at the end" if result.still_receiving_at_end else "")
            + (f", GENERATOR BEHIND: {result.updates} of {result.planned_updates} updates issued"
               if result.updates < 0.95 * result.planned_updates else ""))  # fmt: skip


def table(results: list[Result]) -> str:
    lines = [
        "| scenario | system | updates | p50 ms | p95 ms | p99 ms | max ms | deliveries/s | deliveries ÷ naive"
        " | WS frames ÷ naive | enqueues/update | out of order | stale at end | dropped | server CPU s | worker CPU s"
        " | Redis CPU s | clients CPU s | generator CPU s | server CPU µs/frame | server peak RSS MiB"
        " | RSS per connection KiB | load avg |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        if r.note:
            lines.append(f"| {r.scenario} | {r.system} | {r.note} |" + " |" * 20)
            continue
        lat = r.latency_ms
        cells = [
            r.scenario, r.system, updates_cell(r), lat.get("p50"), lat.get("p95"), lat.get("p99"), lat.get("max"),
            r.deliveries_per_s, r.broadcasts_per_update, r.frames_per_naive, r.enqueues_per_update, r.out_of_order,
            r.stale_at_end, r.dropped_connections, r.server_cpu_s, r.worker_cpu_s, r.redis_cpu_s, r.client_cpu_s,
            r.generator_cpu_s, r.server_cpu_us_per_frame, r.server_peak_rss_mib, r.memory_per_connection_kib,
            r.load_average,
        ]  # fmt: skip
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    return "\n".join(lines)


def updates_cell(r: Result) -> str:
    behind = r.updates < 0.95 * r.planned_updates
    return f"{r.updates} of {r.planned_updates} (generator behind)" if behind else str(r.updates)


def window_table(results: list[Result], options) -> str:
    lines = [
        f"Bracket-page sockets (tournament room): score-carrying frames at most one per room window"
        f" ({options.room_window_ms:g} ms, {options.jitter_ms:g} ms client jitter allowed)",
        "",
        "| scenario | system | bracket sockets | frames to them | of which batches | batches per socket, min–max"
        " | min gap ms (one socket)"
        " | min gap ms (room, first readings) | max frames in one window | gaps < window | explained: write spread"
        " | explained: client lag | unexplained | worst unexplained deficit ms | client loop lag p99 / max ms |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        if r.note or not r.room_sockets:
            continue
        lag = r.client_loop_lag_ms
        cells = [
            r.scenario, r.system, r.room_sockets, r.room_frames, r.room_batch_frames,
            "–".join(map(str, r.batch_frames_per_socket)) or "-", r.min_room_gap_ms, r.min_emission_gap_ms,
            r.max_frames_per_window, r.window_violations, r.window_violations_spread, r.window_violations_client_lag,
            r.window_violations_unexplained, r.max_room_deficit_ms, f"{lag.get('p99')} / {lag.get('max')}",
        ]  # fmt: skip
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    return "\n".join(lines)


def fanout_rows(results: list[Result]) -> list[dict]:
    """Per system, in the fan-out scenario: server CPU per frame delivered and memory per
    connection, and both as ratios to the native reference."""
    runs = [r for r in results if r.scenario == FANOUT and not r.note]
    reference = next((r for r in runs if r.system == NATIVE), None)
    rows = []
    for r in runs:
        row = {
            "system": r.system,
            "p99_ms": r.latency_ms.get("p99"),
            "server_cpu_us_per_frame": r.server_cpu_us_per_frame,
            "kib_per_connection": r.memory_per_connection_kib,
            "cpu_vs_native": None,
            "memory_vs_native": None,
        }
        if reference and reference.server_cpu_us_per_frame > 0:
            row["cpu_vs_native"] = round(r.server_cpu_us_per_frame / reference.server_cpu_us_per_frame, 2)
        if reference and reference.memory_per_connection_kib > 0:
            row["memory_vs_native"] = round(r.memory_per_connection_kib / reference.memory_per_connection_kib, 2)
        rows.append(row)
    return rows


def fanout_table(results: list[Result], options) -> str:
    native_note = "" if options.native_ok else f" — native reference UNAVAILABLE ({options.native_status}): ratios n/a"
    lines = [
        f"Fan-out ({FANOUT}): server CPU per frame delivered (server CPU s ÷ frames),"
        f" memory per connection{native_note}",
        "",
        "| system | p99 ms | server CPU µs per frame delivered | × native | KiB per connection | × native |",
        "|---|---|---|---|---|---|",
    ]
    for row in fanout_rows(results):
        cpu_x = f"{row['cpu_vs_native']}×" if row["cpu_vs_native"] is not None else "n/a"
        mem_x = f"{row['memory_vs_native']}×" if row["memory_vs_native"] is not None else "n/a"
        lines.append(f"| {row['system']} | {row['p99_ms']} | {row['server_cpu_us_per_frame']} | {cpu_x} |"
                     f" {row['kib_per_connection']} | {mem_x} |")  # fmt: skip
    for r in results:
        if r.scenario == FANOUT and r.note:
            lines.append(f"| {r.system} | {r.note} | | | | |")
    return "\n".join(lines)


def sweep_table(fanout: list[Result]) -> str:
    systems = list(dict.fromkeys(r.system for r in fanout))
    counts = sorted({r.spectators for r in fanout})
    head = " | ".join(f"{s} p50 / p99 ms | {s} µs/frame" for s in systems)
    lines = ["Fan-out sweep (one room, 5 broadcasts/s)", "", f"| spectators | {head} |",
             "|---|" + "---|---|" * len(systems)]  # fmt: skip
    for count in counts:
        cells = []
        for system in systems:
            r = next((r for r in fanout if r.system == system and r.spectators == count), None)
            if r is None or r.note:
                cells += [r.note if r else "", ""]
            else:
                cells += [f"{r.latency_ms.get('p50')} / {r.latency_ms.get('p99')}", f"{r.server_cpu_us_per_frame}"]
        lines.append(f"| {count} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def targets(results: list[Result], options) -> list[dict]:
    """PASS / MISS per target of the spec; n/a when its run is missing (skipped, failed, not asked)."""
    checks = []

    def check(target: str, scenario: str, measured, passed: bool | None, detail: str = "") -> None:
        status = "n/a" if passed is None else ("PASS" if passed else "MISS")
        checks.append({"target": target, "scenario": scenario, "measured": measured, "status": status,
                       "detail": detail})  # fmt: skip

    def product_run(name: str) -> Result | None:
        return next((r for r in results if r.scenario == name and r.system == PRODUCT), None)

    fan = product_run(FANOUT)
    reference = next((r for r in results if r.scenario == FANOUT and r.system == NATIVE and not r.note), None)
    if fan is None or fan.note:
        why = fan.note if fan else "not run"
        check(f"server CPU ≤ {TARGET_CPU_US_PER_DELIVERY:g} µs per delivery", FANOUT, None, None, why)
        check(f"≤ {TARGET_KIB_PER_CONNECTION:g} KiB per connection", FANOUT, None, None, why)
    else:
        ratio = (f"{fan.server_cpu_us_per_frame / reference.server_cpu_us_per_frame:.2f}× native"
                 if reference and reference.server_cpu_us_per_frame else "native n/a")  # fmt: skip
        met = fan.server_cpu_us_per_frame <= TARGET_CPU_US_PER_DELIVERY
        check(f"server CPU ≤ {TARGET_CPU_US_PER_DELIVERY:g} µs per delivery", FANOUT,
              f"{fan.server_cpu_us_per_frame} µs", met, ratio)  # fmt: skip
        ratio = (f"{fan.memory_per_connection_kib / reference.memory_per_connection_kib:.2f}× native"
                 if reference and reference.memory_per_connection_kib > 0 else "native n/a")  # fmt: skip
        check(f"≤ {TARGET_KIB_PER_CONNECTION:g} KiB per connection", FANOUT, f"{fan.memory_per_connection_kib} KiB",
              fan.memory_per_connection_kib <= TARGET_KIB_PER_CONNECTION, ratio)  # fmt: skip
    for name in (BRACKET_256, CEILING, FANOUT):
        r = product_run(name)
        if name != FANOUT:
            if r is None or r.note:
                why = r.note if r else "not run"
                for target in (f"p99 ≤ {TARGET_P99_MS:g} ms", "0 out of order", "0 stale at end"):
                    check(target, name, None, None, why)
            else:
                p99 = r.latency_ms.get("p99")
                check(f"p99 ≤ {TARGET_P99_MS:g} ms", name, f"{p99} ms", p99 is not None and p99 <= TARGET_P99_MS)
                check("0 out of order", name, r.out_of_order, r.out_of_order == 0)
                check("0 stale at end", name, r.stale_at_end, r.stale_at_end == 0,
                      f"{r.never_received} never received; {r.dropped_connections} connections dropped,"
                      f" {r.refused_connections} refused ({r.connect_retries} retries);"
                      f" end = {r.settle_s} s after the last update"
                      + (", clients still receiving" if r.still_receiving_at_end else ""))  # fmt: skip
        target = f"bracket-page sockets ≤ 1 frame per room window ({options.room_window_ms:g} ms)"
        if r is None or r.note or not r.room_sockets:
            check(target, name, None, None, (r.note if r else "not run") or "no bracket-page sockets")
        elif not r.room_frames:
            check(target, name, "no score frames reached bracket-page sockets", False)
        else:
            detail = (f"{r.window_violations} gaps < window − {options.jitter_ms:g} ms on one socket:"
                      f" {r.window_violations_spread} write-order spread, {r.window_violations_client_lag} client lag,"
                      f" {r.window_violations_unexplained} unexplained; min gap {r.min_room_gap_ms} ms on one socket,"
                      f" {r.min_emission_gap_ms} ms for the room; max {r.max_frames_per_window} frames"
                      " read in one window")  # fmt: skip
            if not r.room_batch_frames:
                detail = "no batch frames: the server sends single score_updated frames (no batching); " + detail
            check(target, name, f"{r.window_violations_unexplained} violations", r.window_violations_unexplained == 0
                  and r.room_batch_frames > 0, detail)  # fmt: skip
    return checks


def targets_table(checks: list[dict]) -> str:
    lines = ["Targets (product)", "", "| target | scenario | measured | met | detail |", "|---|---|---|---|---|"]
    for c in checks:
        lines.append(f"| {c['target']} | {c['scenario']} | {c['measured']} | **{c['status']}** | {c['detail']} |")
    return "\n".join(lines)


def cdf(histogram: dict[int, int]) -> tuple[list[float], list[float]]:
    total = sum(histogram.values())
    xs, ys, seen = [], [], 0
    for bucket, count in sorted(histogram.items()):
        seen += count
        xs.append(max(bucket / 10, 0.05))
        ys.append(seen / total)
    return xs, ys


def plot(results: list[Result], fanout: list[Result], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scenarios = list(dict.fromkeys(r.scenario for r in results if r.histogram))
    if scenarios:
        figure, axes = plt.subplots(1, len(scenarios), figsize=(5 * len(scenarios), 4), squeeze=False)
        for axis, scenario in zip(axes[0], scenarios, strict=True):
            for r in (r for r in results if r.scenario == scenario and r.histogram):
                axis.plot(*cdf(r.histogram), label=r.system)
            axis.set_xscale("log")
            axis.set_xlabel("update → client delivery (ms, log)")
            axis.set_ylabel("fraction of deliveries")
            axis.set_title(scenario, fontsize=9)
            axis.legend(fontsize=8)
            axis.grid(alpha=0.3)
        figure.tight_layout()
        figure.savefig(out / "latency-cdf.png", dpi=110)
        plt.close(figure)

    if any(not r.note for r in fanout):
        figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
        for system in dict.fromkeys(r.system for r in fanout):
            rows = [r for r in fanout if r.system == system and not r.note]
            if not rows:
                continue
            left.plot([r.spectators for r in rows], [r.deliveries_per_s for r in rows], marker="o", label=system)
            right.plot([r.spectators for r in rows], [r.latency_ms.get("p99", 0) for r in rows], marker="o",
                       label=system)  # fmt: skip
        left.set_xlabel("spectators in one room (5 broadcasts/s)")
        left.set_ylabel("deliveries per second")
        right.set_xlabel("spectators in one room (5 broadcasts/s)")
        right.set_ylabel("p99 delivery latency (ms)")
        for axis in (left, right):
            axis.grid(alpha=0.3)
            axis.legend()
        figure.tight_layout()
        figure.savefig(out / "fanout.png", dpi=110)
        plt.close(figure)


if __name__ == "__main__":
    main()

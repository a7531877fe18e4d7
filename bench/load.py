"""Load benchmark at scale: `make bench-load`.

Runs the real stack (uvicorn, a Celery worker, Redis) and real WebSocket clients in separate
processes, and the same clients against bare Channels (both channels-redis layers, a `group_send`
per update: the naive design) in the same run, so every figure has a baseline measured beside it.
Traffic stays on 127.0.0.1; every scenario is bounded in time.

    python -m bench.load [--scenarios a,b] [--seconds 12] [--out docs/benchmarks]
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SYSTEMS = ("product", "bare-pubsub", "bare-core")


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


SCENARIOS = {
    s.name: s
    for s in (
        Scenario("1 match x 100 upd/s, 100 spectators", matches=1, rate=100, spectators=100),
        Scenario("100 matches x 10 upd/s, 1000 spectators", matches=100, rate=10, spectators=1000),
        Scenario(
            "1000 spectators in one room, 5 broadcasts/s",
            matches=1,
            rate=5,
            spectators=1000,
            tournament_room_share=1.0,
            publish_inline=True,
        ),
        Scenario(
            "burst: 100 matches x 50 updates at once, 200 spectators", matches=100, rate=0, spectators=200, burst=50
        ),  # fmt: skip
    )
}


@dataclass
class Result:
    scenario: str
    system: str
    spectators: int
    updates: int = 0
    frames: int = 0
    seconds: float = 0.0
    latency_ms: dict = field(default_factory=dict)  # p50, p95, p99, max
    deliveries_per_s: float = 0.0
    broadcasts_per_update: float = 0.0  # frames delivered ÷ frames if every update were broadcast
    enqueues_per_update: float = 0.0
    out_of_order: int = 0
    stale_at_end: int = 0  # (connection, match) pairs not showing the last score after the run
    server_cpu_s: float = 0.0
    server_peak_rss_mib: float = 0.0
    worker_cpu_s: float = 0.0
    memory_per_connection_kib: float = 0.0
    latencies: list = field(default_factory=list, repr=False)


# --- WebSocket client processes -------------------------------------------------------------------


async def client_main(base: str, origin: str, paths: list[str], count: int) -> None:
    """Open `count` sockets over `paths`, say READY, record score frames until told to stop."""
    import websockets

    received: list[tuple[int, int, float]] = []
    last: dict[tuple[int, int], int] = {}
    out_of_order = 0

    async def watch(index: int, socket) -> None:
        nonlocal out_of_order
        async for text in socket:
            now = time.monotonic()
            frame = json.loads(text)
            data = frame.get("data", {})
            if frame.get("type") != "score_updated":
                continue
            key = (index, data["match_id"])
            score = data["participant1_score"]
            if score <= last.get(key, -1):
                out_of_order += 1
            last[key] = score
            received.append((data["match_id"], score, now))

    sockets = []
    for index in range(count):
        socket = await websockets.connect(base + paths[index % len(paths)], origin=origin, open_timeout=60,
                                          ping_interval=None, max_queue=None)  # fmt: skip
        sockets.append(socket)
    # The product sends a snapshot first: ready means every socket has it (the server's snapshot work
    # is done), so the measurement sees delivery, not the tail of the connection storm.
    for index, socket in enumerate(sockets):
        if paths[index % len(paths)].startswith("ws/"):
            await socket.recv()
    tasks = [asyncio.create_task(watch(i, s)) for i, s in enumerate(sockets)]
    print("READY", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    for task in tasks:
        task.cancel()
    finals = {f"{i}:{m}": s for (i, m), s in last.items()}
    json.dump({"received": received, "out_of_order": out_of_order, "finals": finals}, sys.stdout)
    sys.stdout.flush()
    for socket in sockets:
        socket.transport.abort()


# --- processes ---------------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def status_kib(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def wait_for_line(process: subprocess.Popen, text: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            raise RuntimeError(f"process exited before printing {text!r}")
        if text in line:
            return
    raise RuntimeError(f"no {text!r} within {timeout}s")


# Every server process a run starts: stopped at exit, even when a run fails half-way.
started_processes: list[subprocess.Popen] = []


def start(args: list[str], env: dict) -> subprocess.Popen:
    process = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    started_processes.append(process)
    return process


@atexit.register
def stop_started_processes() -> None:
    for process in started_processes:
        if process.poll() is None:
            process.kill()
            process.wait()


def drain(process: subprocess.Popen) -> None:
    import threading

    threading.Thread(target=process.stdout.read, daemon=True).start()


# --- one run -------------------------------------------------------------------------------------------


def run(scenario: Scenario, system: str, env: dict, tournament_id: int, match_ids: list[int],
        seconds: float, spectators: int | None = None) -> Result:  # fmt: skip
    from project import processes
    from project.localredis import free_port
    from realtime.store import scripts

    spectators = spectators or scenario.spectators
    result = Result(scenario.name, system, spectators)
    matches = match_ids[: scenario.matches]
    port = free_port()
    if system == "product":
        server_env = env
        server_args = processes.asgi_server("127.0.0.1", port)
        room_paths = (f"ws/tournament/{tournament_id}/", [f"ws/match/{m}/" for m in matches])
    else:
        server_env = {**env, "DJANGO_SETTINGS_MODULE": "bench.bare_settings", "BENCH_LAYER": system.split("-")[1]}
        server_args = processes.asgi_server("127.0.0.1", port)
        server_args[server_args.index("project.asgi:application")] = "bench.bare_asgi:application"
        room_paths = ("bare/t/", [f"bare/m{m}/" for m in matches])
    server = start(server_args, server_env)
    wait_for_line(server, processes.ASGI_READY)
    drain(server)
    worker = None
    if system == "product":
        worker = start(processes.celery_worker(f"bench-{port}@%h"), env)
        wait_for_line(worker, processes.WORKER_READY)
        drain(worker)

    in_tournament_room = round(spectators * scenario.tournament_room_share)
    paths = [room_paths[0]] * in_tournament_room + [
        room_paths[1][i % len(room_paths[1])] for i in range(spectators - in_tournament_room)
    ]
    rss_before = status_kib(server.pid, "VmRSS")
    client_processes = []
    per_process = 250
    for chunk_start in range(0, len(paths), per_process):
        chunk = paths[chunk_start : chunk_start + per_process]
        client = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench.load",
                "client",
                f"ws://127.0.0.1:{port}/",
                f"http://127.0.0.1:{port}",
                json.dumps(sorted(set(chunk))),
                str(len(chunk)),
            ],  # fmt: skip
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        wait_for_line(client, "READY", timeout=120)
        client_processes.append(client)
    time.sleep(1.0)  # let snapshots and handshakes settle before measuring
    result.memory_per_connection_kib = round((status_kib(server.pid, "VmRSS") - rss_before) / spectators, 1)

    redis = scripts.client()
    lpush_before = int(redis.info("commandstats").get("cmdstat_lpush", {}).get("calls", 0))
    cpu_before = cpu_seconds(server.pid)
    worker_cpu_before = cpu_seconds(worker.pid) if worker else 0.0
    sent: dict[tuple[int, int], float] = {}
    started = time.monotonic()
    if system == "product":
        updates = generate_product(scenario, tournament_id, matches, seconds, sent)
    else:
        updates = asyncio.run(generate_bare(scenario, system.split("-")[1], matches, seconds, sent))
    result.seconds = round(time.monotonic() - started, 2)
    time.sleep(1.5)  # the last window, the last deliveries
    result.server_cpu_s = round(cpu_seconds(server.pid) - cpu_before, 2)
    result.worker_cpu_s = round(cpu_seconds(worker.pid) - worker_cpu_before, 2) if worker else 0.0
    result.server_peak_rss_mib = round(status_kib(server.pid, "VmHWM") / 1024, 1)
    lpush = int(redis.info("commandstats").get("cmdstat_lpush", {}).get("calls", 0)) - lpush_before
    result.updates = updates
    result.enqueues_per_update = round(lpush / updates, 3) if system == "product" else 0.0

    last_sent = {}
    for (match_id, score), _ in sent.items():
        last_sent[match_id] = max(last_sent.get(match_id, -1), score)
    latencies = []
    for client in client_processes:
        out, _ = client.communicate("stop\n", timeout=120)
        report = json.loads(out[out.index("{") :])
        result.out_of_order += report["out_of_order"]
        for match_id, score, received_at in report["received"]:
            if (match_id, score) in sent:
                latencies.append((received_at - sent[(match_id, score)]) * 1000)
        result.frames += len(report["received"])
        for key, score in report["finals"].items():
            match_id = int(key.split(":")[1])
            if score != last_sent.get(match_id):
                result.stale_at_end += 1
    server.terminate()
    if worker:
        worker.terminate()
    server.wait()
    if worker:
        worker.wait()

    latencies.sort()
    result.latencies = latencies
    if latencies:
        result.latency_ms = {
            "p50": round(percentile(latencies, 50), 1),
            "p95": round(percentile(latencies, 95), 1),
            "p99": round(percentile(latencies, 99), 1),
            "max": round(latencies[-1], 1),
        }
    result.deliveries_per_s = round(result.frames / max(result.seconds, 0.001), 1)
    # frames received, as a share of what broadcasting every update to every room would deliver
    naive_frames = in_tournament_room * updates + (spectators - in_tournament_room) * updates / scenario.matches
    result.broadcasts_per_update = round(result.frames / max(naive_frames, 1), 3)
    return result


def percentile(ordered: list[float], p: float) -> float:
    return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))]


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
    from realtime import broadcast
    from realtime.store import coalescing

    updates = 0
    for match_id, score, due in paced(scenario, matches, seconds):
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        sent[(match_id, score)] = time.monotonic()
        broadcast.score_changed(match_id=match_id, tournament_id=tournament_id, version=score,
                                participant1_score=score, participant2_score=0)  # fmt: skip
        if scenario.publish_inline:
            coalescing.flush(match_id, tournament_id, token=None)  # the worker's task then finds nothing to do
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


# --- orchestration, report, plots ----------------------------------------------------------------------


def setup_database() -> tuple[dict, int, list[int]]:
    work = Path(tempfile.mkdtemp(prefix="bench-"))
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
    )[:100]
    for match_id in match_ids:
        services.start_match(match_id=match_id)
    # servers as in production: no DEBUG (it records every SQL query and slows every request)
    # Every bench client connects from 127.0.0.1: lift the per-address connection cap.
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "DJANGO_DEBUG": "0", "REALTIME_MAX_CONNECTIONS_PER_ADDRESS": "100000"}
    return env, tournament.id, match_ids


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "client":
        _, _, base, origin, paths, count = sys.argv
        asyncio.run(client_main(base, origin, json.loads(paths), int(count)))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", default=",".join(str(i) for i in range(len(SCENARIOS))),
                        help="comma-separated indexes into the scenario list")  # fmt: skip
    parser.add_argument("--seconds", type=float, default=12)
    parser.add_argument("--fanout-steps", default="250,500,1000", help="spectator counts for the throughput plot")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks")
    options = parser.parse_args()
    if not os.environ.get("REDIS_URL"):
        sys.exit("REDIS_URL is not set: run it with `make bench-load`")
    env, tournament_id, match_ids = setup_database()
    from realtime.store.scripts import client

    scenarios = [list(SCENARIOS.values())[int(i)] for i in options.scenarios.split(",") if i != ""]
    results = []
    for scenario in scenarios:
        for system in SYSTEMS:
            client().flushdb()
            results.append(run(scenario, system, env, tournament_id, match_ids, options.seconds))
            print(summary(results[-1]), flush=True)
    fanout = []
    fanout_scenario = SCENARIOS["1000 spectators in one room, 5 broadcasts/s"]
    for count in [int(c) for c in options.fanout_steps.split(",") if c]:
        for system in ("product", "bare-pubsub"):
            client().flushdb()
            fanout.append(run(fanout_scenario, system, env, tournament_id, match_ids, options.seconds / 2, count))
            print(summary(fanout[-1]), flush=True)
    options.out.mkdir(parents=True, exist_ok=True)
    (options.out / "results.json").write_text(
        json.dumps([{k: v for k, v in asdict(r).items() if k != "latencies"} for r in results + fanout], indent=1)
    )
    plot(results, fanout, options.out)
    print(table(results))


def summary(result: Result) -> str:
    return (f"{result.scenario} | {result.system}: p99 {result.latency_ms.get('p99')} ms, "
            f"{result.deliveries_per_s} deliveries/s, {result.broadcasts_per_update} bcast/update, "
            f"stale {result.stale_at_end}, out-of-order {result.out_of_order}")  # fmt: skip


def table(results: list[Result]) -> str:
    lines = [
        "| scenario | system | updates | p50 ms | p95 ms | p99 ms | max ms | deliveries/s | frames ÷ naive frames"
        " | enqueues/update | out of order | stale at end | server CPU s | worker CPU s | server peak RSS MiB"
        " | RSS per connection KiB |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lat = r.latency_ms
        lines.append(
            f"| {r.scenario} | {r.system} | {r.updates} | {lat.get('p50')} | {lat.get('p95')} | {lat.get('p99')} |"
            f" {lat.get('max')} | {r.deliveries_per_s} | {r.broadcasts_per_update} | {r.enqueues_per_update} |"
            f" {r.out_of_order} | {r.stale_at_end} | {r.server_cpu_s} | {r.worker_cpu_s} | {r.server_peak_rss_mib} |"
            f" {r.memory_per_connection_kib} |"
        )
    return "\n".join(lines)


def plot(results: list[Result], fanout: list[Result], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scenarios = list(dict.fromkeys(r.scenario for r in results))
    figure, axes = plt.subplots(1, len(scenarios), figsize=(5 * len(scenarios), 4), squeeze=False)
    for axis, scenario in zip(axes[0], scenarios, strict=True):
        for r in (r for r in results if r.scenario == scenario and r.latencies):
            ys = [i / len(r.latencies) for i in range(len(r.latencies))]
            axis.plot(r.latencies, ys, label=r.system)
        axis.set_xscale("log")
        axis.set_xlabel("update → client delivery (ms, log)")
        axis.set_ylabel("fraction of deliveries")
        axis.set_title(scenario, fontsize=9)
        axis.legend(fontsize=8)
        axis.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(out / "latency-cdf.png", dpi=110)
    plt.close(figure)

    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for system in ("product", "bare-pubsub"):
        rows = [r for r in fanout if r.system == system]
        left.plot([r.spectators for r in rows], [r.deliveries_per_s for r in rows], marker="o", label=system)
        right.plot([r.spectators for r in rows], [r.latency_ms.get("p99", 0) for r in rows], marker="o", label=system)
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

"""One WebSocket client process of the load benchmark (bench/load.py starts several of them).

    python -m bench.load_client   (reads its configuration as one JSON line on stdin)

Protocol with bench/load.py, one line each way at a time:

1. stdin: `{"base", "origin", "paths": [one path per socket], "expect": {path: [match ids]},
   "room_paths": [paths of bracket-page sockets], "await_first": [paths whose first frame is a
   snapshot], "window_ms", "jitter_ms"}`. The client opens every socket, waits for each snapshot
   (a socket refused meanwhile, e.g. 1013 "try again later", reconnects, as a browser would), and
   prints `READY`.
2. stdin: `{"max_settle_s"}` once the generator is done: the client waits until it has read nothing
   for QUIET_S (at most max_settle_s) and prints `SETTLED {"waited_s", "still_receiving"}`.
3. stdin: `{"sent": [[match_id, score, monotonic time the generator issued it], ...]}`: the client
   closes its sockets and prints one JSON report (see `analyse`).

A score arrives in a `score_updated` frame, or as an entry of a `batch` frame (tournament rooms: the
latest score of every match that changed, at most one batch per room window per socket). Each entry
is applied exactly as a `score_updated` frame: one delivery, with its own latency and its own order
check (per socket and match, scores only increase).

While the load runs a frame costs the client almost nothing beyond the WebSocket library: it notes
(frame, time) per socket, and parses a frame's text only the first time this process reads it (every
socket of a room receives the same text). Every per-entry step — order, latency, the final score per
(socket, match) — runs after the measurement, in `analyse`. So the clients, on the same cores as the
servers, take as little CPU from them as they can.

Latency is the time from the generator issuing an update (`time.monotonic()`, one clock for every
process on Linux) to this process reading a frame showing it, reported as a histogram (0.1 ms
resolution below 1 s, 1 ms above), so millions of deliveries never cross a pipe.

The room-window check: on every bracket-page socket, the gap between consecutive frames carrying
scores (batches, or single `score_updated` frames from a server that does not batch) must be at
least `window_ms - jitter_ms`. Gaps are measured where the frames are read, so two things can make a
gap look shorter than the server made it:

- the server writes a frame to its sockets one after the other: a socket written late for one batch
  and early for the next sees them closer than the room window, though the room's batches went out a
  window apart. The same frame text reaches every socket of the room, so the first time this process
  reads a text is (nearly) when the server emitted it: a short gap whose frames' *first* readings are
  a window apart is write-order spread, not a second batch in the window;
- this process was busy or descheduled and read two frames late, back to back. An event-loop lag
  monitor (a 5 ms tick) tells: a short gap counts as explained when the loop was late, around the
  first reading of the earlier frame, by at least what the gap lacks.

The rest are *unexplained*: a server sending two batches per window leaves gaps far shorter than any
spread or lag seen. Both counts are reported, with the room's smallest gap between first readings.
"""

from __future__ import annotations

import asyncio
import bisect
import json
import os
import re
import sys
import time
from array import array
from collections import Counter
from functools import partial

LAG_TICK_S = 0.005
QUIET_S = 0.5  # settled: nothing read for this long
CONNECT_ATTEMPTS = 3
OPEN_TIMEOUT_S = 60
FIRST_FRAME_TIMEOUT_S = 20
BATCH, SINGLE = "batch_frames", "single_frames"


def histogram_bucket(latency_ms: float) -> int:
    """Latency bucket in tenths of a millisecond: 0.1 ms resolution below 1 s, 1 ms above."""
    if latency_ms < 1000:
        return max(0, round(latency_ms * 10))
    return round(latency_ms) * 10


class Frames:
    """Every distinct frame text this process read: its kind, its scores, when it was first read."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}
        self.kinds: list[str | None] = []
        self.scores: list[list[tuple[int, int]]] = []
        self.first_read = array("d")
        self.parsed_with_json = 0

    def id_of(self, text: str, now: float) -> int:
        frame_id = self.ids.get(text)
        if frame_id is None:
            frame_id = self.ids[text] = len(self.kinds)
            kind, scores = self.parse(text)
            self.kinds.append(kind)
            self.scores.append(scores)
            self.first_read.append(now)
        return frame_id

    def parse(self, text: str) -> tuple[str | None, list[tuple[int, int]]]:
        """(BATCH | SINGLE | None, [(match_id, participant1_score), ...]) of one frame.

        The product's and nchan's frames are compact JSON: their scores are read with two regular
        expressions, checked against the number of score_updated entries; anything else goes
        through json.loads."""
        kind = (
            BATCH
            if text.startswith('{"type":"batch"')
            else SINGLE
            if text.startswith('{"type":"score_updated"')
            else None
        )
        if kind:
            ids, scores = MATCH_ID.findall(text), SCORE_1.findall(text)
            if len(ids) == len(scores) == text.count('"type":"score_updated"'):
                return kind, list(zip(map(int, ids), map(int, scores), strict=True))
        self.parsed_with_json += 1
        frame = json.loads(text)
        if frame.get("type") == "batch":
            kind, entries = BATCH, frame["data"]["frames"]
        elif frame.get("type") == "score_updated":
            kind, entries = SINGLE, (frame,)
        else:
            return None, []
        return kind, [(e["data"]["match_id"], e["data"]["participant1_score"]) for e in entries
                      if e.get("type") == "score_updated"]  # fmt: skip


MATCH_ID = re.compile(r'"match_id":\s*(\d+)')
SCORE_1 = re.compile(r'"participant1_score":\s*(\d+)')


async def run_client(config: dict) -> None:
    import websockets

    paths: list[str] = config["paths"]
    await_first = set(config["await_first"])
    stdin_line = partial(asyncio.get_running_loop().run_in_executor, None, sys.stdin.readline)

    frames = Frames()
    read_ids = [array("i") for _ in paths]  # per socket: the frames it read, in order ...
    read_at = [array("d") for _ in paths]  # ... and when
    counts = Counter()
    last_frame_at = [0.0]
    lag_at = array("d")  # monitor wake-up times
    lag = array("d")  # ... and how late each was

    async def watch(index: int, socket) -> None:
        ids, ats, id_of, clock = read_ids[index], read_at[index], frames.id_of, time.monotonic
        try:
            async for text in socket:
                now = clock()
                last_frame_at[0] = now
                ids.append(id_of(text, now))
                ats.append(now)
        except websockets.ConnectionClosed:
            pass
        counts["closed_by_server"] += 1

    async def monitor() -> None:
        while True:
            due = time.monotonic() + LAG_TICK_S
            await asyncio.sleep(LAG_TICK_S)
            woke = time.monotonic()
            lag_at.append(woke)
            lag.append(woke - due)

    def connect(path: str):
        return websockets.connect(config["base"] + path, origin=config["origin"], open_timeout=OPEN_TIMEOUT_S,
                                  ping_interval=None, max_queue=None, max_size=2**24)  # fmt: skip

    async def first_frame(index: int) -> None:
        """The product sends a snapshot first: ready means every socket has it (the server's snapshot
        work is done), so the measurement sees delivery, not the tail of the connection storm."""
        for attempt in range(CONNECT_ATTEMPTS):
            try:
                if sockets[index] is None:
                    sockets[index] = await connect(paths[index])
                if paths[index] in await_first:
                    async with asyncio.timeout(FIRST_FRAME_TIMEOUT_S):
                        await sockets[index].recv()
                return
            except (OSError, TimeoutError, websockets.InvalidHandshake, websockets.ConnectionClosed) as error:
                counts["connect_retries"] += 1
                reason = f"{type(error).__name__}: {str(error)[:80]}" if str(error) else type(error).__name__
                counts["connect_error " + reason] += 1
                if sockets[index] is not None:
                    sockets[index].transport.abort()
                sockets[index] = None
                await asyncio.sleep(0.5 * (attempt + 1))
        counts["refused"] += 1

    # Handshakes one after the other (every client process connects at once: storm enough), then
    # every snapshot awaited together.
    sockets: list = [None] * len(paths)
    for index, path in enumerate(paths):
        try:
            sockets[index] = await connect(path)
        except (OSError, TimeoutError, websockets.InvalidHandshake):
            sockets[index] = None  # first_frame tries again
    await asyncio.gather(*(first_frame(i) for i in range(len(paths))))
    tasks = [asyncio.create_task(watch(i, s)) for i, s in enumerate(sockets) if s is not None]
    tasks.append(asyncio.create_task(monitor()))
    print("READY", flush=True)

    # the generator is done: "settled" once nothing has been read for QUIET_S (at most max_settle_s)
    settle = json.loads(await stdin_line())
    asked = time.monotonic()
    while True:
        await asyncio.sleep(0.02)
        now = time.monotonic()
        if now - max(last_frame_at[0], asked) >= QUIET_S or now - asked >= settle["max_settle_s"]:
            break
    settled = {"waited_s": round(now - asked, 3), "still_receiving": now - last_frame_at[0] < QUIET_S}
    print(f"SETTLED {json.dumps(settled)}", flush=True)

    stop = json.loads(await stdin_line())
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for socket in sockets:
        if socket is not None:
            socket.transport.abort()
    report = analyse(config, stop["sent"], frames, read_ids, read_at, (lag_at, lag))
    report["errors"] = {k[len("connect_error ") :]: n for k, n in counts.items() if k.startswith("connect_error ")}
    report.update({k: n for k, n in counts.items() if not k.startswith("connect_error ")})
    json.dump(report, sys.stdout)
    sys.stdout.flush()


def analyse(config: dict, sent_list: list, frames: Frames, read_ids: list, read_at: list, lags) -> dict:
    """Every delivery replayed in the order each socket read it: latency, order, final scores, and
    the room window on bracket-page sockets."""
    paths = config["paths"]
    room_paths = set(config["room_paths"])
    sent = {(match_id, score): at for match_id, score, at in sent_list}
    last_sent: dict[int, int] = {}
    for match_id, score, _ in sent_list:
        if score > last_sent.get(match_id, -1):
            last_sent[match_id] = score

    counts = Counter()
    histogram: Counter[int] = Counter()
    stale = never = pairs = 0
    kinds, scores_of = frames.kinds, frames.scores
    for index, path in enumerate(paths):
        last: dict[int, int] = {}
        room = path in room_paths
        for frame_id, at in zip(read_ids[index], read_at[index], strict=True):
            kind = kinds[frame_id]
            if kind is None:
                counts["other_frames"] += 1
                continue
            counts[kind] += 1
            if room:
                counts["room_" + kind] += 1
            for match_id, score in scores_of[frame_id]:
                counts["deliveries"] += 1
                if score <= last.get(match_id, -1):
                    counts["out_of_order"] += 1
                last[match_id] = score
                issued = sent.get((match_id, score))
                if issued is None:
                    counts["unmatched"] += 1
                else:
                    histogram[histogram_bucket((at - issued) * 1000)] += 1
        # (socket, match) pairs not showing the match's last score at the end, never-updated ones too
        for match_id in config["expect"].get(path, []):
            if match_id in last_sent:
                pairs += 1
                never += match_id not in last
                stale += last.get(match_id) != last_sent[match_id]

    window = room_window(config, frames, [i for i, path in enumerate(paths) if path in room_paths], read_ids, read_at,
                         lags)  # fmt: skip
    lag = sorted(lags[1])
    return {
        **counts,
        "histogram": {str(b): n for b, n in histogram.items()},
        "deliveries": counts["deliveries"],
        "unmatched": counts["unmatched"],
        "stale": stale,
        "never_received": never,
        "pairs": pairs,
        "parsed_with_json": frames.parsed_with_json,
        **window,
        "loop_lag_ms": {
            "p99": round(lag[int(len(lag) * 0.99)] * 1000, 1) if lag else None,
            "max": round(lag[-1] * 1000, 1) if lag else None,
        },
    }


def room_window(config: dict, frames: Frames, room_sockets: list[int], read_ids, read_at, lags) -> dict:
    """Gaps between consecutive score-carrying frames on each bracket-page socket (module docstring)."""
    lag_at, lag = lags
    limit = (config["window_ms"] - config["jitter_ms"]) / 1000
    kinds, first_read = frames.kinds, frames.first_read
    gaps = violations = by_spread = by_lag = max_in_window = 0
    min_gap = None
    deficits = []
    room_frames = set()
    batches_per_socket = []
    for index in room_sockets:
        scored = [
            (at, frame_id) for frame_id, at in zip(read_ids[index], read_at[index], strict=True) if kinds[frame_id]
        ]
        room_frames.update(frame_id for _, frame_id in scored)
        batches_per_socket.append(sum(kinds[frame_id] == BATCH for _, frame_id in scored))
        start = 0
        for j, (at, frame_id) in enumerate(scored):
            while at - scored[start][0] >= limit:
                start += 1
            max_in_window = max(max_in_window, j - start + 1)
            if j == 0:
                continue
            previous_at, previous_id = scored[j - 1]
            gap = at - previous_at
            gaps += 1
            min_gap = gap if min_gap is None else min(min_gap, gap)
            if gap >= limit:
                continue
            violations += 1
            deficit = limit - (first_read[frame_id] - first_read[previous_id])  # what the room's own gap lacks
            if deficit <= 0:
                by_spread += 1
            elif loop_lag_around(lag_at, lag, first_read[previous_id]) >= deficit:
                by_lag += 1
            else:
                deficits.append(deficit)
    emitted = sorted(first_read[frame_id] for frame_id in room_frames)
    emission_gaps = [b - a for a, b in zip(emitted, emitted[1:], strict=False)]
    return {
        "room_sockets": len(room_sockets),
        "room_gaps": gaps,
        "window_violations": violations,
        "window_violations_spread": by_spread,
        "window_violations_client_lag": by_lag,
        "window_violations_unexplained": len(deficits),
        "max_deficit_ms": round(max(deficits) * 1000, 1) if deficits else None,
        "min_gap_ms": round(min_gap * 1000, 1) if min_gap is not None else None,
        "min_emission_gap_ms": round(min(emission_gaps) * 1000, 1) if emission_gaps else None,
        "max_frames_per_window": max_in_window,
        "batch_frames_per_socket": [min(batches_per_socket), max(batches_per_socket)] if batches_per_socket else None,
    }


def loop_lag_around(lag_at, lag, moment: float) -> float:
    """How long a frame read at `moment` may have waited in this process (a heuristic bound): the worst
    lag of the monitor's wake-ups from two ticks before `moment` to the first one after it (which
    comes once the loop is done with the frames read together with this one), plus one tick."""
    low = bisect.bisect_left(lag_at, moment - 2 * LAG_TICK_S)
    high = bisect.bisect_right(lag_at, moment) + 1
    window = lag[low:high]
    return (max(window) if window else 0.0) + LAG_TICK_S


def main() -> None:
    config = json.loads(sys.stdin.readline())
    profile_dir = os.environ.get("BENCH_CLIENT_PROFILE")  # a directory: one cProfile dump per client process
    if not profile_dir:
        asyncio.run(run_client(config))
        return
    import cProfile

    with cProfile.Profile() as profiler:
        asyncio.run(run_client(config))
    profiler.dump_stats(os.path.join(profile_dir, f"client-{os.getpid()}.prof"))


if __name__ == "__main__":
    main()

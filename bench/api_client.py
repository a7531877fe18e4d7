"""Load client of the HTTP API benchmark (bench/api.py): one process, keep-alive HTTP/1.1 connections
on raw asyncio streams (uvloop when installed), to 127.0.0.1 only.

    python -m bench.api_client          # driven by bench/api.py: JSON lines on stdin, answers on stdout
    python -m bench.api_client serve    # a trivial HTTP/1.1 server (prints its port): the client's ceiling

Every command is answered in two steps, so that every client process starts at the same moment:
the client opens its connections and answers {"ready": ...}; bench/api.py then sends {"go": T}, T a
time.monotonic() instant (CLOCK_MONOTONIC: the same clock in every process), and the client answers
its result once the command's time is over.

- {"cmd": "closed", "port", "connections", "kind": "plain"|"drf-floor"|"score", "token", "matches",
  "first_connection", "warmup_s", "seconds", "timeout_s"}: closed loop, each connection sends its
  next request as soon as the previous one is answered. Counted: requests answered 2xx within
  [T + warmup_s, T + warmup_s + seconds] and their latencies (10 µs buckets); the statuses of every
  answer of the command, warmup included; this process's CPU time over the counted window.
  Score posts go to matches[global connection index % len(matches)], with increasing scores.
- {"cmd": "paced", "port", "token", "matches": [{"id", "offset_s"}], "rate", "seconds", "base",
  "timeout_s"}: one connection per match, each posting `rate` scores a second (the next post never
  before the previous one is answered, and never more than one late: no catch-up bursts), scores
  base+1, base+2, ... Answered: per match the posts answered 2xx and the last score answered 2xx.
- {"cmd": "quit"}. End of stdin also ends the process.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from collections import Counter

HOST = "127.0.0.1"
BUCKET_S = 1e-5  # latency histogram: 10 µs buckets
MAX_SCORE = 1_000_000  # tournaments.models.MAX_SCORE (not imported: the client loads no Django)
ERRORS = (OSError, EOFError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ValueError)


def request_bytes(port: int, path: str, token: str | None, body: bytes) -> bytes:
    auth = f"Authorization: Token {token}\r\n" if token else ""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\n{auth}Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """(status, whether the server closes the connection) of one response, its body read and dropped."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    version, status, _ = (lines[0] + b" ").split(b" ", 2)
    length, chunked, close = None, False, version == b"HTTP/1.0"
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name, value = name.strip().lower(), value.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding":
            chunked = b"chunked" in value
        elif name == b"connection":
            close = value == b"close"
    if chunked:
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                while await reader.readuntil(b"\r\n") != b"\r\n":  # trailers
                    pass
                break
            await reader.readexactly(size + 2)
    elif length is not None:
        await reader.readexactly(length)
    else:  # no framing: the body lasts until the server closes
        await reader.read()
        close = True
    return int(status), close


class Connection:
    """One keep-alive connection; reopened when the server closes it or a request fails."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.opened = 0

    async def open(self, timeout: float) -> None:
        async with asyncio.timeout(timeout):
            self.reader, self.writer = await asyncio.open_connection(HOST, self.port)
        self.opened += 1

    async def request(self, data: bytes, timeout: float) -> int:
        if self.writer is None:
            await self.open(timeout)
        self.writer.write(data)
        async with asyncio.timeout(timeout):
            status, close = await read_response(self.reader)
        if close:
            self.close()
        return status

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


class Stats:
    def __init__(self) -> None:
        self.histogram: Counter[int] = Counter()
        self.statuses: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.completed = 0  # answered 2xx within the counted window
        self.warmup = 0  # answered 2xx before it

    def answered(self, status: int, sent: float, done: float, window: tuple[float, float]) -> None:
        self.statuses[str(status)] += 1
        if not 200 <= status < 300:  # counted by status only: an error answer is no throughput
            return
        if window[0] <= done <= window[1]:
            self.completed += 1
            self.histogram[int((done - sent) / BUCKET_S)] += 1
        elif done < window[0]:
            self.warmup += 1

    def failed(self, error: BaseException) -> None:
        self.errors[type(error).__name__] += 1

    def report(self) -> dict:
        return {
            "completed": self.completed,
            "warmup": self.warmup,
            "histogram": dict(self.histogram),
            "statuses": dict(self.statuses),
            "errors": dict(self.errors),
        }


def score_body(p1: int, p2: int) -> bytes:
    return b'{"participant1_score":%d,"participant2_score":%d}' % (p1 % MAX_SCORE, p2 % MAX_SCORE)


def closed_request_factory(command: dict, index: int):
    """The next request of connection `index` (global), as bytes."""
    port, token, kind = command["port"], command.get("token"), command["kind"]
    if kind == "plain":
        data = request_bytes(port, "/bench/plain/", None, b"{}")
        return lambda: data
    if kind == "drf-floor":
        data = request_bytes(port, "/bench/drf-floor/", token, b"{}")
        return lambda: data
    if kind == "score":
        matches = command["matches"]
        path = f"/api/matches/{matches[index % len(matches)]}/score/"
        counter = iter(range(1, 10**9))

        def next_score() -> bytes:
            n = next(counter)
            return request_bytes(port, path, token, score_body(n, n // 2))

        return next_score
    raise ValueError(f"unknown kind {kind!r}")


async def wait_until(instant: float) -> None:
    delay = instant - time.monotonic()
    if delay > 0:
        await asyncio.sleep(delay)


async def read_go() -> float:
    line = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    if not line:
        raise SystemExit(0)
    return float(json.loads(line)["go"])


def say(message: dict) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


async def open_all(connections: list[Connection], timeout: float) -> int:
    """Open every connection; how many failed (each is retried by its first request)."""
    results = await asyncio.gather(*(c.open(timeout) for c in connections), return_exceptions=True)
    return sum(isinstance(r, BaseException) for r in results)


async def closed(command: dict) -> dict:
    count, timeout = command["connections"], command["timeout_s"]
    connections = [Connection(command["port"]) for _ in range(count)]
    say({"ready": True, "open_failures": await open_all(connections, timeout)})
    start = await read_go()
    window = (start + command["warmup_s"], start + command["warmup_s"] + command["seconds"])
    stats = Stats()
    cpu: dict[str, float] = {}

    async def one(connection: Connection, make) -> None:
        await wait_until(start)
        while (sent := time.monotonic()) < window[1]:
            data = make()
            try:
                status = await connection.request(data, timeout)
            except ERRORS as error:
                stats.failed(error)
                connection.close()
                await asyncio.sleep(0.01)
                continue
            stats.answered(status, sent, time.monotonic(), window)

    async def cpu_meter() -> None:
        await wait_until(window[0])
        cpu["from"] = time.process_time()
        await wait_until(window[1])
        cpu["to"] = time.process_time()

    first = command["first_connection"]
    tasks = [one(c, closed_request_factory(command, first + i)) for i, c in enumerate(connections)]
    await asyncio.gather(cpu_meter(), *tasks)
    for connection in connections:
        connection.close()
    return {**stats.report(), "cpu_s": cpu["to"] - cpu["from"], "opened": sum(c.opened for c in connections)}


async def paced(command: dict) -> dict:
    port, token, timeout, rate = command["port"], command.get("token"), command["timeout_s"], command["rate"]
    connections = {m["id"]: Connection(port) for m in command["matches"]}
    say({"ready": True, "open_failures": await open_all(list(connections.values()), timeout)})
    start = await read_go()
    end = start + command["seconds"]
    window = (start, end + timeout + 1)  # every answer counts, late ones too
    stats = Stats()
    per_match: dict[int, dict] = {}

    async def sender(match_id: int, offset_s: float) -> None:
        connection, path = connections[match_id], f"/api/matches/{match_id}/score/"
        mine = per_match[match_id] = {"sent": 0, "posted": 0, "late": 0, "last": None, "statuses": Counter()}
        interval = 1.0 / rate
        due = start + offset_s
        while True:
            await wait_until(due)
            if (sent := time.monotonic()) >= end:
                break
            mine["sent"] += 1
            k = command["base"] + mine["sent"]
            scores = (k, k // 2)
            try:
                status = await connection.request(request_bytes(port, path, token, score_body(*scores)), timeout)
            except ERRORS as error:
                stats.failed(error)
                connection.close()
                status = None
            else:
                stats.answered(status, sent, time.monotonic(), window)
                mine["statuses"][str(status)] += 1
                if 200 <= status < 300:
                    mine["posted"] += 1
                    mine["last"] = list(scores)
            due += interval
            if due < time.monotonic():  # behind: the next post now, the missed ones never
                mine["late"] += 1
                due = time.monotonic()

    await asyncio.gather(*(sender(m["id"], m["offset_s"]) for m in command["matches"]))
    for connection in connections.values():
        connection.close()
    return {**stats.report(), "matches": {str(k): {**v, "statuses": dict(v["statuses"])} for k, v in per_match.items()}}


# --- the trivial server: what these clients can do at most on this machine ----------------------------------

RESPONSE = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{"ok":true}'


class TrivialServer(asyncio.Protocol):
    def connection_made(self, transport) -> None:
        self.transport, self.buffer = transport, b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            length = 0
            for line in self.buffer[:end].split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if len(self.buffer) < end + 4 + length:
                return
            self.buffer = self.buffer[end + 4 + length :]
            self.transport.write(RESPONSE)


async def serve() -> None:
    server = await asyncio.get_running_loop().create_server(TrivialServer, HOST, 0)
    say({"port": server.sockets[0].getsockname()[1]})
    async with server:
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until stdin closes


def run(coroutine):
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


def main() -> None:
    if sys.argv[1:] == ["serve"]:
        run(serve())
        return
    while line := sys.stdin.readline():
        command = json.loads(line)
        if command["cmd"] == "quit":
            break
        handler = {"closed": closed, "paced": paced}[command["cmd"]]
        try:
            say({"result": run(handler(command))})
        except Exception as error:  # answered, so bench/api.py says why instead of waiting
            say({"error": f"{type(error).__name__}: {error}"})


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt, BrokenPipeError):
        main()

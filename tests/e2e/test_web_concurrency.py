"""WEB_CONCURRENCY: one uvicorn with two worker processes behind one port.

Connections land on both processes (which process holds a connection is read from the kernel: the
process owning the server's end of its TCP socket), and whichever holds it, the spectator count is
exact, a score posted through the API reaches everyone, and a client that reconnects with `?resume=`
gets exactly what it missed, on the other process too. Stopping uvicorn stops every worker.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from asgiref.sync import sync_to_async

from tests.harness.factories import first_live_match
from tests.harness.polling import until
from tests.harness.processes import AsgiServer
from tests.harness.spectators import Spectator, is_type

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("celery_worker")]

WORKERS = 2
SPECTATORS = 40
MORE = 10  # connections added at a time while one worker has them all
MAX_SPECTATORS = 200  # below the per-address cap (256 per process)
LANDING_TIMEOUT_S = 30
MISSED = 5  # scores a disconnected client misses


@pytest.fixture
def server(server_env) -> Iterator[AsgiServer]:
    server = AsgiServer(server_env, workers=WORKERS)
    yield server
    server.stop()


# Which process holds a connection: the kernel's TCP table gives the socket (inode) of the server's
# end of each connection, and /proc/<pid>/fd which process has that socket open.


def server_ends(port: int) -> dict[int, int]:
    """{client port: socket inode of the server's end} of the established connections to `port`."""
    ends = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as rows:
            for row in list(rows)[1:]:
                fields = row.split()
                local, remote, state, inode = fields[1], fields[2], fields[3], int(fields[9])
                if int(local.rsplit(":", 1)[1], 16) == port and state == "01":
                    ends[int(remote.rsplit(":", 1)[1], 16)] = inode
    return ends


def socket_inodes(pid: int) -> set[int]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:  # closed meanwhile
            continue
        if target.startswith("socket:["):
            inodes.add(int(target[len("socket:[") : -1]))
    return inodes


def serving_pids(server: AsgiServer, spectators: list[Spectator]) -> list[int]:
    """The worker process holding each spectator's connection."""
    owners = {inode: pid for pid in server.worker_pids for inode in socket_inodes(pid)}
    ends = server_ends(server.port)
    pids = [owners.get(ends.get(spectator.socket.local_address[1], -1)) for spectator in spectators]
    assert None not in pids, f"a connection held by no worker of {server.worker_pids}: {pids}"
    return pids


def running(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] not in "ZX"  # a zombie has exited


# What a spectator received: events, whether each came in a frame of its own or in a `batch`.


def events(frames: list[dict]) -> list[dict]:
    found = []
    for frame in frames:
        if frame["type"] == "batch":
            found.extend(frame["data"]["frames"])
        elif frame["type"] not in ("snapshot", "resumed") and "sequence" in frame["data"]:
            found.append(frame)
    return found


def stream(event: dict) -> str:
    data = event["data"]
    return f"m:{data['match_id']}" if "match_id" in data else f"t:{data['tournament_id']}"


def remembered(spectator: Spectator) -> tuple[str, dict[str, int]]:
    """What a client remembers to resume with: the epoch and its last sequence per stream."""
    snapshot = spectator.of_type("snapshot")[-1]["data"]
    sequences = {f"t:{snapshot['tournament']['id']}": snapshot["tournament"]["sequence"]}
    sequences.update({f"m:{match['id']}": match["sequence"] for match in snapshot["matches"]})
    for event in events(spectator.frames):
        sequences[stream(event)] = max(sequences.get(stream(event), 0), event["data"]["sequence"])
    return snapshot["tournament"]["epoch"], sequences


def shows_score(match_id: int, score: int) -> Callable[[dict], bool]:
    def predicate(frame: dict) -> bool:
        return any(
            is_type("score_updated", match_id=match_id, participant1_score=score)(event) for event in events([frame])
        )

    return predicate


async def connect(server: AsgiServer, path: str, count: int) -> list[Spectator]:
    """`count` more spectators, one after the other, each with its snapshot."""
    spectators = [await Spectator.connect(server, path) for _ in range(count)]
    await asyncio.gather(*(spectator.wait_for(is_type("snapshot")) for spectator in spectators))
    return spectators


async def viewers(server: AsgiServer, tournament_id: int) -> int:
    async with httpx.AsyncClient(base_url=server.http_url, timeout=10) as client:
        response = await client.get(f"/api/tournaments/{tournament_id}/")
    return response.json()["viewers"]["tournament"]


async def post_score(server: AsgiServer, token: str, match_id: int, score: int) -> None:
    async with httpx.AsyncClient(base_url=server.http_url, timeout=15) as client:
        response = await client.post(
            f"/api/matches/{match_id}/score/",
            json={"participant1_score": score, "participant2_score": 0},
            headers={"Authorization": f"Token {token}"},
        )
    assert response.status_code == 202, response.text


async def test_two_workers_behind_one_port_count_deliver_and_resume_across_processes(
    server, live_tournament, organizer
):
    assert len(set(server.worker_pids)) == WORKERS
    match = await sync_to_async(first_live_match)(live_tournament)
    path = f"ws/tournament/{live_tournament.id}/"

    # Spectators arrive until both workers hold some (the kernel gives a connection to whichever
    # worker accepts first: not necessarily both within the first few).
    spectators = await connect(server, path, SPECTATORS)
    deadline = time.monotonic() + LANDING_TIMEOUT_S
    while len(set(serving_pids(server, spectators))) < WORKERS:
        assert time.monotonic() < deadline and len(spectators) < MAX_SPECTATORS, (
            f"{len(spectators)} connections, all on one worker of {server.worker_pids}"
        )
        spectators += await connect(server, path, MORE)

    # A fresh snapshot counts every open connection, on both processes (itself included).
    newcomer = await Spectator.connect(server, path)
    snapshot = await newcomer.wait_for(is_type("snapshot"))
    spectators.append(newcomer)
    assert snapshot["data"]["viewers"]["tournament"] == len(spectators)
    assert await viewers(server, live_tournament.id) == len(spectators)

    # A score posted through the API (served by either worker) reaches every spectator.
    await post_score(server, organizer.api_token, match.id, 1)
    await asyncio.gather(*(spectator.wait_for(shows_score(match.id, 1)) for spectator in spectators))

    # Two spectators of each worker leave; they stop counting at once.
    pids = serving_pids(server, spectators)
    origin = {id(spectator): pid for spectator, pid in zip(spectators, pids, strict=True)}
    leavers = [spectator for pid in set(pids) for spectator in [s for s in spectators if origin[id(s)] == pid][:2]]
    stayers = [spectator for spectator in spectators if spectator not in leavers]
    for leaver in leavers:
        await leaver.close()
    await until(lambda: viewers(server, live_tournament.id), len(stayers), timeout=10, what="viewers")

    # They miss MISSED scores, each its own broadcast (posted once the previous one has arrived).
    reference = stayers[0]
    for score in range(2, 2 + MISSED):
        await post_score(server, organizer.api_token, match.id, score)
        await reference.wait_for(shows_score(match.id, score))
    await asyncio.gather(*(spectator.wait_for(shows_score(match.id, 1 + MISSED)) for spectator in stayers))
    epoch, seen = remembered(leavers[0])
    assert all(remembered(leaver) == (epoch, seen) for leaver in leavers)
    missed = [event for event in events(reference.frames) if event["data"]["sequence"] > seen.get(stream(event), 0)]
    assert [event["data"]["participant1_score"] for event in missed] == list(range(2, 2 + MISSED))
    resume_path = f"{path}?resume={quote(json.dumps({'epoch': epoch, 'sequences': seen}))}"

    # Each leaver reconnects, as often as it takes to land on the other worker than the one it left;
    # every reconnect, on either worker, gets exactly the frames it missed, then live ones.
    returned = []
    deadline = time.monotonic() + LANDING_TIMEOUT_S
    for leaver in leavers:
        while True:
            assert time.monotonic() < deadline, "reconnects never landed on the other worker"
            back = await Spectator.connect(server, resume_path)
            resumed = await back.wait_for(is_type("resumed"))
            assert back.frames[0] is resumed and resumed["data"]["replayed"] == len(missed)
            await back.wait_for(lambda _, back=back: len(events(back.frames)) >= len(missed))
            assert events(back.frames) == missed
            if serving_pids(server, [back])[0] != origin[id(leaver)]:
                returned.append(back)
                break
            await back.close()
    assert set(serving_pids(server, returned)) == set(server.worker_pids)

    open_now = stayers + returned
    await post_score(server, organizer.api_token, match.id, 2 + MISSED)
    await asyncio.gather(*(spectator.wait_for(shows_score(match.id, 2 + MISSED)) for spectator in open_now))
    match_stream = f"m:{match.id}"
    for spectator in returned:
        sequences = [event["data"]["sequence"] for event in events(spectator.frames) if stream(event) == match_stream]
        assert sequences == sorted(set(sequences)), "a duplicate or out-of-order frame after the replay"
    assert await viewers(server, live_tournament.id) == len(open_now)

    await asyncio.gather(*(spectator.close() for spectator in open_now))
    await until(lambda: viewers(server, live_tournament.id), 0, timeout=10, what="viewers")

    # Stopping uvicorn (SIGTERM to its process group, as honcho does) stops both workers cleanly.
    workers = server.worker_pids
    server.stop()
    assert [pid for pid in workers if running(pid)] == []
    for pid in workers:
        assert server.process.count(f"Finished server process [{pid}]") == 1
    assert server.process.count("Stopping parent process") == 1
    assert server.process.count("Exception in ASGI application") == 0

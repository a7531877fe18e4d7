"""Game completions racing live score posts (docs/architecture.md "Why a score can never follow a
completion", "Games"; docs/protocol.md "Every frame with a score carries `game`").

A tournament of best-of-3 matches and a best-of-5 final is played out over HTTP through two ASGI
servers, with a real Celery worker flushing every coalescing window. Several writers post live scores
to the live matches at once, through either server, naming the game they last heard is being played,
an older one, or none; a referee meanwhile ends games one after another, sometimes while a window's
score is still pending (the completion publishes it), sometimes once the countdown flush has
published one, and starts each match as soon as its players are known. Spectators watch the
tournament room and every match room on both servers. Whatever the interleaving, on every socket:

- no score_updated about game k arrives after game k's game_completed (nor before game k-1's), and
  every score_updated says which game it is about;
- the game that decides the series is followed at once by match_completed, and nothing about a match
  arrives after its match_completed (nothing is reopened here);
- sequences strictly increase per stream, and batches keep their rules (ReferenceClient violations);
- the ReferenceClient, fed exactly what the socket received, shows what a fresh snapshot shows.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import httpx
import pytest
from asgiref.sync import sync_to_async

from tests.harness import factories
from tests.harness.processes import AsgiServer
from tests.harness.reference_client import ReferenceClient, as_shown
from tests.harness.spectators import Spectator, is_type, seen_sequences

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("celery_worker")]

PLAYERS = 8  # quarter-finals and semi-finals best-of-3, the final best-of-5: about 20 games
WRITERS = 4
WAIT_S = 30  # the most any one awaited event may take on a loaded machine: a bound, not a pace

Games = dict[int, list[tuple[int, int, int]]]  # match -> the games ended: (game, p1, p2), in order


@pytest.fixture
def servers(server_env) -> Iterator[list[AsgiServer]]:
    """Two ASGI servers. Every writer posts with the organizer's one token, far past the feed's
    per-token throttle, which is not what this test is about."""
    env = {**server_env, "SCORE_THROTTLE_RATE": "1000000/min"}
    started: list[AsgiServer] = []
    try:
        for _ in range(2):
            started.append(AsgiServer(env))
        yield started
    finally:
        for server in started:
            server.stop()


@dataclass
class Watcher:
    """A spectator of one room on one server."""

    spectator: Spectator
    server: AsgiServer
    path: str

    @property
    def snapshot(self) -> dict:
        """The `data` of the first frame it was sent."""
        return self.spectator.received[0]["data"]

    @property
    def name(self) -> str:
        return f"{self.path} on :{self.server.port}"


async def watch(server: AsgiServer, path: str) -> Watcher:
    spectator = await Spectator.connect(server, path)
    await spectator.wait_for(is_type("snapshot"), timeout=WAIT_S)
    return Watcher(spectator, server, path)


@dataclass
class Play:
    """What the writers and the referee share."""

    servers: list[AsgiServer]
    clients: list[httpx.AsyncClient]  # one per server, authenticated as the organizer
    playing: dict[int, int]  # live match -> the game being played, as the last completion answered
    match_rooms: dict[int, list[Watcher]]  # match -> its room's watchers, one per server
    accepted: Counter[int] = field(default_factory=Counter)  # match -> live scores it took (202)
    problems: list[str] = field(default_factory=list)
    over: bool = False
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def wait_until_taken(self, match_id: int, count: int) -> None:
        """Until the writers have had `count` live scores of the match taken, in all."""
        async with self.changed:
            await asyncio.wait_for(self.changed.wait_for(lambda: self.accepted[match_id] >= count), WAIT_S)


async def write_scores(play: Play, rng: random.Random) -> None:
    """Post live scores to random live matches through random servers until the tournament is over."""
    while True:
        async with play.changed:
            await play.changed.wait_for(lambda: play.playing or play.over)
            if play.over:
                return
            match_id, known = rng.choice(sorted(play.playing.items()))
        # No game (whichever is being played), the one last answered (racing its completion: taken,
        # or refused once it ended), or one that has certainly ended (the game being played is never
        # behind the one last answered): that must be refused.
        game = rng.choice([None, known, known] + ([rng.randrange(1, known)] if known > 1 else []))
        body = {"participant1_score": rng.randrange(30), "participant2_score": rng.randrange(30)}
        if game is not None:
            body["game"] = game
        response = await rng.choice(play.clients).post(f"/api/matches/{match_id}/score/", json=body)
        if game is not None and game < known and response.status_code != 409:
            play.problems.append(f"score {body} for match {match_id}, whose game {known} had begun: {response.text}")
        elif response.status_code == 202:
            async with play.changed:
                play.accepted[match_id] += 1
                play.changed.notify_all()
        elif response.status_code != 409:  # 409: the match is closing or completed, or the game ended
            play.problems.append(f"score {body} for match {match_id}: {response.status_code} {response.text}")


async def referee(play: Play, tournament_id: int, rng: random.Random) -> Games:
    """End the games of random live matches until the tournament is decided, starting each match
    once its players are known."""
    ended: Games = defaultdict(list)
    taken_before: dict[int, int] = dict.fromkeys(play.playing, 0)  # match -> scores it took before this game
    while play.playing:
        match_id = rng.choice(sorted(play.playing))
        game = play.playing[match_id]
        # A few scores into this game first (a post answered just after the last completion may
        # have gone into the game before: the writers never stop, so more come).
        await play.wait_until_taken(match_id, taken_before[match_id] + rng.randint(2, 8))
        if rng.random() < 0.5:
            # After the countdown flush (a worker) has published a score of this game...
            await play.match_rooms[match_id][0].spectator.wait_for(
                is_type("score_updated", match_id=match_id, game=game), timeout=WAIT_S
            )
        # ...or at once: a score taken a moment ago is likely still pending, and the completion
        # publishes it just before game_completed.
        won, lost = 13, rng.randrange(13)
        p1, p2 = (won, lost) if rng.random() < 0.5 else (lost, won)
        body = {"participant1_score": p1, "participant2_score": p2, "game": game}
        response = await rng.choice(play.clients).post(f"/api/matches/{match_id}/games/complete/", json=body)
        assert response.status_code == 200, f"ending game {game} of match {match_id}: {response.text}"
        result = response.json()
        ended[match_id].append((game, p1, p2))
        async with play.changed:
            if result["state"] == "completed":
                del play.playing[match_id]
            else:
                assert result["game"] == game + 1, result
                play.playing[match_id] = game + 1
                taken_before[match_id] = play.accepted[match_id]
            play.changed.notify_all()
        # The game is over: a score for it is refused, and so is a retry of its completion (it
        # never ends the next game).
        late = {"participant1_score": p1, "participant2_score": p2 + 1, "game": game}
        for path, sent in (("score", late), ("games/complete", body)):
            answer = await rng.choice(play.clients).post(f"/api/matches/{match_id}/{path}/", json=sent)
            assert answer.status_code == 409, f"{path} {sent} after match {match_id}'s game {game}: {answer.text}"
        if result["state"] == "completed":
            for started in await start_ready_matches(play, tournament_id, rng.choice(play.clients)):
                async with play.changed:
                    play.playing[started] = 1
                    taken_before[started] = 0
                    play.changed.notify_all()
    return ended


async def start_ready_matches(play: Play, tournament_id: int, client: httpx.AsyncClient) -> list[int]:
    """Start every scheduled match whose players are both known, and watch its room on both servers
    (joining while other matches score and end games) before any score is posted to it."""
    document = (await client.get(f"/api/tournaments/{tournament_id}/")).json()
    playable = (m for m in document["matches"] if m["participant1_id"] and m["participant2_id"])
    ready = [match["id"] for match in playable if match["state"] == "scheduled"]
    for match_id in ready:
        response = await client.post(f"/api/matches/{match_id}/start/")
        assert response.status_code == 200, response.text
        play.match_rooms[match_id] = [await watch(server, f"ws/match/{match_id}/") for server in play.servers]
    return ready


def matches_of(snapshot: dict) -> list[dict]:
    return snapshot["matches"] if "matches" in snapshot else [snapshot["match"]]


def series_problems(where: str, snapshot: dict, frames: list[dict]) -> list[str]:
    """What the series rules forbid on one socket: `frames` as it received them after `snapshot`,
    batches unwrapped (each entry counts as a frame of its own)."""
    problems = []
    playing = {match["id"]: match["game"] for match in matches_of(snapshot)}  # the game being played
    completed = {match["id"] for match in matches_of(snapshot) if match["state"] == "completed"}
    last: dict[int, dict] = {}  # match -> the last frame about it
    for frame in frames:
        kind, data = frame["type"], frame["data"]
        match_id = data.get("match_id")
        if match_id is None:
            continue  # a tournament event
        about = f"{where}: {kind} of match {match_id}, sequence {data['sequence']},"
        if match_id in completed:
            problems.append(f"{about} after the match's match_completed")
        elif kind == "score_updated" and "game" not in data:
            problems.append(f"{about} does not say its game")
        elif kind == "score_updated" and data["game"] < playing[match_id]:
            problems.append(f"{about} is about game {data['game']}, after that game's game_completed")
        elif kind == "score_updated" and data["game"] > playing[match_id]:
            problems.append(f"{about} is about game {data['game']}, before game {playing[match_id]}'s game_completed")
        elif kind == "game_completed":
            if data["game"] != playing[match_id]:
                problems.append(f"{about} ends game {data['game']} while game {playing[match_id]} is being played")
            playing[match_id] = data["game"] + 1
        elif kind == "match_completed":
            completed.add(match_id)
            before = last.get(match_id, {"type": None, "data": {}})
            deciding = ("game_completed", data["game"], data["sequence"] - 1)
            if (before["type"], before["data"].get("game"), before["data"].get("sequence")) != deciding:
                problems.append(f"{about} does not follow its deciding game's game_completed at once: {before}")
        last[match_id] = frame
    return problems


def standing_at(spectator: Spectator, position: dict[str, int]) -> Callable[[], bool]:
    """Whether the socket has been sent every stream up to `position`."""

    def reached() -> bool:
        seen = seen_sequences(spectator)[1]
        return all(seen.get(stream, 0) >= sequence for stream, sequence in position.items())

    return reached


async def socket_problems(watcher: Watcher) -> list[str]:
    """Everything one socket received against the rules, and against a fresh snapshot of its room on
    its server, once it has been sent every frame that snapshot reflects."""
    fresh = await watch(watcher.server, watcher.path)
    await fresh.spectator.close()
    matches = matches_of(fresh.snapshot)
    position = {f"m:{match['id']}": match["sequence"] for match in matches}
    if "matches" in fresh.snapshot:
        position[f"t:{fresh.snapshot['tournament']['id']}"] = fresh.snapshot["tournament"]["sequence"]
    await watcher.spectator.wait_until(standing_at(watcher.spectator, position), f"reaching {position}", WAIT_S)

    problems = series_problems(watcher.name, watcher.snapshot, watcher.spectator.frames[1:])
    client = ReferenceClient({**watcher.snapshot, "matches": matches_of(watcher.snapshot)}, on_socket=True)
    for frame in watcher.spectator.received[1:]:
        client.receive(frame)
    problems += [f"{watcher.name}: {violation}" for violation in client.violations]
    shows, expected = client.shows(), as_shown({**fresh.snapshot, "matches": matches})
    if "match" in fresh.snapshot:  # a match room is sent no tournament events: compare its match and players
        shows, expected = ({key: d[key] for key in ("participants", "matches")} for d in (shows, expected))
    if shows != expected:
        problems.append(f"{watcher.name}: the client shows {shows}, a fresh snapshot {expected}")
    return problems


async def test_no_score_of_a_game_follows_its_completion_on_any_socket_of_either_server(servers, organizer):
    tournament = await sync_to_async(factories.tournament)(organizer, PLAYERS, best_of=3, final_best_of=5)
    live = await sync_to_async(lambda: sorted(tournament.matches.filter(state="live").values_list("id", flat=True)))()
    headers = {"Authorization": f"Token {organizer.api_token}"}
    play = Play(
        servers=servers,
        clients=[httpx.AsyncClient(base_url=server.http_url, headers=headers, timeout=WAIT_S) for server in servers],
        playing=dict.fromkeys(live, 1),
        match_rooms={},
    )
    tournament_rooms: list[Watcher] = []
    rng = random.Random(20261207)  # the choices; the interleaving is the machine's
    try:
        tournament_rooms += [await watch(server, f"ws/tournament/{tournament.id}/") for server in servers]
        for match_id in live:
            play.match_rooms[match_id] = [await watch(server, f"ws/match/{match_id}/") for server in servers]
        writers = [asyncio.create_task(write_scores(play, random.Random(rng.random()))) for _ in range(WRITERS)]
        try:
            ended = await referee(play, tournament.id, rng)
        finally:
            async with play.changed:
                play.over = True
                play.changed.notify_all()
            await asyncio.gather(*writers)
        assert not play.problems, "\n".join(play.problems)

        # The last completion's frames were published before it answered: nothing more is coming.
        problems = []
        for watcher in [*tournament_rooms, *(w for room in play.match_rooms.values() for w in room)]:
            problems += await socket_problems(watcher)
        assert not problems, "\n".join(problems)

        # The games the referee ended are the ones the tournament's document holds.
        document = (await play.clients[0].get(f"/api/tournaments/{tournament.id}/")).json()
        assert document["tournament"]["status"] == "completed"
        assert {m["best_of"] for m in document["matches"]} == {3, 5}
        held = {m["id"]: [(g["number"], g["participant1_score"], g["participant2_score"]) for g in m["games"]]
                for m in document["matches"]}  # fmt: skip
        assert held == ended
    finally:
        for client in play.clients:
            await client.aclose()
        for watcher in [*tournament_rooms, *(w for room in play.match_rooms.values() for w in room)]:
            await watcher.spectator.close()

"""Live scores and publishing: every Redis step that takes a score or assigns a sequence (lua/ holds the scripts).

A live score is taken in one round trip (`submit`): the caller's right to post it and the match's
state are checked in Redis (the officials' set and the match's gate, primed from the database by
`prime_officials` / `prime_match` when Redis does not know them), the score gets the match's next
score version, is stored latest-wins, and opens at most one batch per window. The batch is
published by a token-checked `flush`, which also says when the database is due to be brought up to
the published score (at most once per save interval per match; `saved` records that it was, and
`overdue_unsaved` finds what a stopped stream or a dead worker left behind). `conclude` publishes
the pending score and then a game's or the match's completion in one atomic step, and closes the
match or goes on with its next game; `emit_match_event` publishes any other event about a match,
after its pending score; `emit_tournament_event` the tournament's. Every frame is published to the
rooms' channels inside the script that assigns its sequence, so Redis orders frames
(docs/architecture.md "Why a score can never follow a completion").
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal

from django.conf import settings

from ..events import FrameTemplate, score_template
from . import keys
from .keys import Room
from .scripts import client, script

# What a score submission found (lua/submit.lua).
ACCEPTED = frozenset({"schedule", "coalesced"})


@dataclass(frozen=True)
class Submitted:
    status: str  # schedule | coalesced | officials_unknown | forbidden | state_unknown | not_live | wrong_game
    token: int = 0
    delay_ms: int = 0
    participant1_score: int = 0
    participant2_score: int = 0
    score_version: int = 0
    state: str = ""  # not_live: the state the gate holds
    access: int = 0  # officials_unknown: the access epoch to prime the officials with
    game: int = 0  # wrong_game: the game being played

    @property
    def accepted(self) -> bool:
        return self.status in ACCEPTED

    @property
    def needs_flush_task(self) -> bool:
        return self.status == "schedule"


@dataclass(frozen=True)
class Save:
    """When the database is to be brought up to a match's published score (lua/lib/match.lua `claim_save`)."""

    now: tuple[int, int, int] | None = None  # (p1, p2, score_version) to write now, then `saved`
    in_ms: int = 0  # > 0: schedule save task number `task` in this many ms; it calls `claim_save`
    task: int = 0

    @classmethod
    def from_reply(cls, reply: list) -> Save:
        if not reply:
            return cls()
        if reply[0] == b"save":
            p1, p2, version = (int(value) for value in reply[1:])
            return cls(now=(p1, p2, version))
        return cls(in_ms=int(reply[1]), task=int(reply[2]))


@dataclass(frozen=True)
class Flushed:
    sequence: int  # 0: nothing was published
    save: Save
    lag_ms: int = 0  # from the batch's first update to its publication (Redis clock)


def _target(stream: str, rooms: list[Room], *, recheck: bool = False) -> str:
    """Where a stream's frames go (the `target` of lua/lib/publish.lua)."""
    target = {
        "stream": stream,
        "rooms": [[room.group, room.channel] for room in rooms],
        "ttl": settings.REALTIME_STATE_TTL_S,
        "history_length": settings.REALTIME_HISTORY_LENGTH,
        "history_age_ms": settings.REALTIME_HISTORY_AGE_S * 1000,
    }
    if recheck:
        target["recheck"] = True
    return json.dumps(target)


def _match_target(match_id: int, tournament_id: int) -> str:
    return _target(keys.match_stream(match_id), [Room.tournament(tournament_id), Room.match(match_id)])


def _match_keys(match_id: int, tournament_id: int) -> list[str]:
    return [
        keys.match_state(match_id),
        keys.pending_batches(),
        keys.tournament_state(tournament_id),
        keys.history(tournament_id),
        keys.unsaved_scores(),
    ]


def _lease_ms() -> int:
    return int(settings.REALTIME_GATE_LEASE_S * 1000)


def submit(
    match_id: int,
    tournament_id: int,
    participant1: int,
    participant2: int,
    *,
    user_id: int | None,
    mode: Literal["set", "add"] = "set",
    max_score: int,
    game: int | None = None,
) -> Submitted:
    """Take a live score (mode set) or add to the live one (mode add, clamped to 0..max_score).

    `user_id` None: the caller is trusted (the domain itself); else it must be an official. `game`:
    the game the score is for (refused unless it is the current one); None: the current one."""
    reply = script("submit")(
        keys=[
            keys.match_state(match_id),
            keys.pending_batches(),
            keys.officials(tournament_id),
            keys.tournament_state(tournament_id),
        ],
        args=[
            keys.pending_member(match_id, tournament_id),
            tournament_id,
            "" if user_id is None else user_id,
            mode,
            participant1,
            participant2,
            max_score,
            settings.REALTIME_WINDOW_MS,
            settings.REALTIME_MAX_WAIT_MS,
            settings.REALTIME_STATE_TTL_S,
            "" if game is None else game,
        ],
    )
    status = reply[0].decode()
    if status in ACCEPTED:
        token, delay, p1, p2, version = (int(value) for value in reply[1:])
        return Submitted(status, token, delay, p1, p2, version)
    if status == "officials_unknown":
        return Submitted(status, access=int(reply[1]))
    if status == "not_live":
        return Submitted(status, state=reply[1].decode())
    if status == "wrong_game":
        return Submitted(status, game=int(reply[1]))
    return Submitted(status)


def prime_match(
    match_id: int,
    tournament_id: int,
    *,
    state: str,
    state_version: int,
    participant1_score: int,
    participant2_score: int,
    score_version: int,
    game: int,
) -> None:
    """Tell the match's gate what the database holds (read after Redis answered state_unknown)."""
    script("prime")(
        keys=[keys.match_state(match_id)],
        args=[
            state,
            state_version,
            _lease_ms(),
            tournament_id,
            participant1_score,
            participant2_score,
            score_version,
            settings.REALTIME_STATE_TTL_S,
            game,
        ],
    )


def prime_officials(tournament_id: int, access: int, user_ids: list[int]) -> bool:
    """The tournament's officials as the database holds them; False if they changed meanwhile."""
    return bool(
        script("officials")(
            keys=[keys.officials(tournament_id), keys.tournament_state(tournament_id)],
            args=[access, int(settings.REALTIME_GATE_LEASE_S), *user_ids],
        )
    )


def officials_changed(tournament_id: int) -> None:
    """Forget the officials' set: the next score post reads them from the database again."""
    pipe = client().pipeline(transaction=True)
    pipe.hincrby(keys.tournament_state(tournament_id), "access", 1)
    pipe.expire(keys.tournament_state(tournament_id), settings.REALTIME_STATE_TTL_S)
    pipe.delete(keys.officials(tournament_id))
    pipe.execute()


@dataclass(frozen=True)
class Reservation:
    """A score version reserved for a score a transaction writes, and the live score as Redis held it
    then (None if it did not know it: the database's is the latest)."""

    score_version: int
    live: tuple[int, int] | None


def reserve_score_version(
    match_id: int, tournament_id: int, *, floor: int, close: bool, state_version: int
) -> Reservation:
    """The match's next score version, for a score a transaction writes; `close` shuts the gate too
    (so the live score it answers is the last one)."""
    version, p1, p2 = (
        int(value)
        for value in script("reserve")(
            keys=[keys.match_state(match_id)],
            args=[
                floor,
                "1" if close else "",
                state_version,
                _lease_ms(),
                tournament_id,
                settings.REALTIME_STATE_TTL_S,
            ],
        )
    )
    return Reservation(version, (p1, p2) if p1 >= 0 else None)


def reopen(match_id: int, score_version: int) -> bool:
    """Undo `reserve_score_version(close=True)` (which reserved `score_version`) of a transaction that failed."""
    return bool(script("reopen")(keys=[keys.match_state(match_id)], args=[score_version, _lease_ms()]))


def _score_args(match_id: int, tournament_id: int) -> list[str]:
    score = score_template(match_id, tournament_id)
    return [score.head, score.tail]


def _match_frame_args(match_id: int, tournament_id: int) -> list[str]:
    """The ARGV a script that publishes frames after the match's pending score starts with."""
    return [keys.pending_member(match_id, tournament_id), _match_target(match_id, tournament_id),
            *_score_args(match_id, tournament_id)]  # fmt: skip


def flush(match_id: int, tournament_id: int, token: int | None) -> Flushed:
    """Publish the match's pending score if `token` is current (None: whatever is pending)."""
    reply = script("flush")(
        keys=_match_keys(match_id, tournament_id),
        args=[
            keys.pending_member(match_id, tournament_id),
            "" if token is None else str(token),
            _match_target(match_id, tournament_id),
            *_score_args(match_id, tournament_id),
            settings.REALTIME_SAVE_INTERVAL_MS,
        ],
    )
    if not int(reply[0]):
        return Flushed(0, Save.from_reply([]))
    return Flushed(int(reply[0]), Save.from_reply(reply[2:]), lag_ms=int(reply[1]))


def claim_save(match_id: int, task: int) -> Save:
    """Save task number `task` of the match ran: whether to write its published score now."""
    reply = script("save")(keys=[keys.match_state(match_id)], args=[settings.REALTIME_SAVE_INTERVAL_MS, task])
    return Save.from_reply(reply)


def saved(match_id: int, tournament_id: int, score_version: int) -> None:
    """The database holds the match's score at `score_version` now."""
    script("saved")(
        keys=[keys.match_state(match_id), keys.unsaved_scores()],
        args=[keys.pending_member(match_id, tournament_id), score_version],
    )


def overdue_unsaved(limit: int = 1000) -> list[tuple[int, int, tuple[int, int, int]]]:
    """(match_id, tournament_id, published score) of matches whose database row has been behind their
    published score for longer than the save interval; claimed for another interval."""
    members = script("unsaved")(keys=[keys.unsaved_scores()], args=[settings.REALTIME_SAVE_INTERVAL_MS, limit])
    matches = [keys.parse_pending_member(member) for member in members]
    pipe = client().pipeline(transaction=False)
    for match_id, _ in matches:
        pipe.hget(keys.match_state(match_id), "published_score")
    found = []
    for (match_id, tournament_id), score in zip(matches, pipe.execute(), strict=True):
        if score:
            p1, p2, version = (int(part) for part in score.split(b":")[:3])
            found.append((match_id, tournament_id, (p1, p2, version)))
    return found


def conclude(
    match_id: int,
    tournament_id: int,
    frames: list[FrameTemplate],
    *,
    score: tuple[int, int, int],
    game: int,
    state_version: int,
    next_game: int | None,
) -> list[int]:
    """Publish the pending score, then `frames` (game_completed and/or match_completed) with the
    final `score` (p1, p2, its reserved version) of game `game`; then close the match (`next_game`
    None) or go on with `next_game` at 0:0."""
    args = [
        *_match_frame_args(match_id, tournament_id),
        *score,
        game,
        state_version,
        "" if next_game is None else next_game,
        _lease_ms(),
    ]
    for frame in frames:
        args += [frame.head, frame.tail]
    published = script("conclude")(keys=_match_keys(match_id, tournament_id), args=args)
    return [int(sequence) for sequence in published]


@dataclass(frozen=True)
class Gate:
    """The state a match event leaves the match in (lua/lib/match.lua `set_gate`)."""

    state: str
    state_version: int


def emit_match_event(
    match_id: int,
    tournament_id: int,
    frame: FrameTemplate,
    *,
    score: Literal["live"] | tuple[int, int, int] | None = None,
    known_score: tuple[int, int, int] = (0, 0, 0),
    gate: Gate | None = None,
    game: int = 1,
    reopen: bool = False,
) -> list[int]:
    """Publish the match's pending score, then `frame`, carrying `score`: none, "live" (the live
    score), or (p1, p2, score_version) written by the database. `known_score` is the database's, for
    a hash that lost its own; `game` the game being played. `reopen`: a closed match goes on.
    Returns the sequences published, in order."""
    if frame.scored != (score is not None):
        raise ValueError(f"a frame {'with' if frame.scored else 'without'} score fields needs score={score!r}")
    mode, carried = ("saved", score) if isinstance(score, tuple) else (score or "", known_score)
    published = script("match_event")(
        keys=_match_keys(match_id, tournament_id),
        args=[
            *_match_frame_args(match_id, tournament_id),
            frame.head,
            frame.tail,
            mode,
            *carried,
            gate.state if gate else "",
            gate.state_version if gate else 0,
            _lease_ms(),
            tournament_id,
            game,
            "1" if reopen else "",
        ],
    )
    return [int(sequence) for sequence in published]


def emit_tournament_event(
    tournament_id: int, frame: FrameTemplate, *, recheck_access_in_matches: list[int] | None = None
) -> int:
    """Publish a tournament event to its room. With `recheck_access_in_matches`, who may watch may
    have changed: the frame also reaches those matches' rooms, and every consumer that gets it checks
    its client's access again before forwarding anything (match rooms forward only their match)."""
    rooms = [Room.tournament(tournament_id)]
    if recheck_access_in_matches is not None:
        rooms += [Room.match(match_id) for match_id in recheck_access_in_matches]
    return int(
        script("emit")(
            keys=[keys.tournament_state(tournament_id), keys.history(tournament_id)],
            args=[
                _target(keys.tournament_stream(tournament_id), rooms, recheck=recheck_access_in_matches is not None),
                frame.head,
                frame.tail,
            ],
        )
    )


def overdue_batches(max_wait_ms: int, limit: int = 1000) -> list[tuple[int, int]]:
    """(match_id, tournament_id) of pending batches opened more than `max_wait_ms` ago."""
    members = script("overdue")(keys=[keys.pending_batches()], args=[max_wait_ms, limit])
    return [keys.parse_pending_member(member) for member in members]

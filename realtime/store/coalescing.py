"""Coalescing and publishing: every Redis step that assigns a sequence (lua/ holds the scripts).

A score update is stored latest-wins and opens at most one batch per window (`submit`); the batch
is published by a token-checked `flush`; `complete` publishes the pending score and then the
completion in one atomic step and closes the match; `emit` publishes any other event. Every frame
is published to the rooms' channels inside the script that assigns its sequence, so Redis orders
frames (docs/architecture.md "Why a score can never follow a completion").
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from django.conf import settings

from ..events import FrameTemplate
from . import keys
from .keys import Room
from .scripts import script


@dataclass(frozen=True)
class Submitted:
    status: str  # schedule | coalesced | stale | closed
    token: int
    delay_ms: int

    @property
    def needs_flush_task(self) -> bool:
        return self.status == "schedule"


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
        keys.PENDING_BATCHES,
        keys.tournament_state(tournament_id),
        keys.history(tournament_id),
    ]


def submit_score(match_id: int, tournament_id: int, version: int, frame: FrameTemplate) -> Submitted:
    """Record the latest score frame of a match (one round trip)."""
    status, token, delay = script("submit")(
        keys=[keys.match_state(match_id), keys.PENDING_BATCHES],
        args=[
            keys.pending_member(match_id, tournament_id),
            version,
            frame.head,
            frame.tail,
            frame.score,
            settings.REALTIME_WINDOW_MS,
            settings.REALTIME_MAX_WAIT_MS,
            settings.REALTIME_STATE_TTL_S,
        ],
    )
    return Submitted(status.decode(), int(token), int(delay))


def flush(match_id: int, tournament_id: int, token: int | None) -> int:
    """Publish the match's pending score if `token` is current (None: whatever is pending).

    Returns the published sequence, or 0 when there was nothing to publish."""
    return int(
        script("flush")(
            keys=_match_keys(match_id, tournament_id),
            args=[
                keys.pending_member(match_id, tournament_id),
                "" if token is None else str(token),
                _match_target(match_id, tournament_id),
            ],
        )
    )


def complete(match_id: int, tournament_id: int, frame: FrameTemplate) -> list[int]:
    """Publish the pending score, then `frame` (match_completed); close the match to updates."""
    published = script("complete")(
        keys=_match_keys(match_id, tournament_id),
        args=[
            keys.pending_member(match_id, tournament_id),
            _match_target(match_id, tournament_id),
            frame.head,
            frame.tail,
            frame.score,
        ],
    )
    return [int(sequence) for sequence in published]


def emit_match_event(match_id: int, tournament_id: int, frame: FrameTemplate) -> int:
    return int(
        script("emit")(
            keys=[keys.match_state(match_id), keys.tournament_state(tournament_id), keys.history(tournament_id)],
            args=[_match_target(match_id, tournament_id), frame.head, frame.tail, frame.score],
        )
    )


def emit_tournament_event(
    tournament_id: int, frame: FrameTemplate, *, recheck_access_in_matches: list[int] | None = None
) -> int:
    """Publish a tournament event to its room. With `recheck_access_in_matches`, who may watch may
    have changed: the frame also reaches those matches' rooms, and every consumer that gets it checks
    its client's access again before forwarding anything (match rooms forward only their match)."""
    state = keys.tournament_state(tournament_id)
    rooms = [Room.tournament(tournament_id)]
    if recheck_access_in_matches is not None:
        rooms += [Room.match(match_id) for match_id in recheck_access_in_matches]
    return int(
        script("emit")(
            keys=[state, state, keys.history(tournament_id)],
            args=[
                _target(keys.tournament_stream(tournament_id), rooms, recheck=recheck_access_in_matches is not None),
                frame.head,
                frame.tail,
                frame.score,
            ],
        )
    )


def overdue_batches(max_wait_ms: int, limit: int = 1000) -> list[tuple[int, int]]:
    """(match_id, tournament_id) of pending batches opened more than `max_wait_ms` ago."""
    members = script("overdue")(keys=[keys.PENDING_BATCHES], args=[max_wait_ms, limit])
    return [keys.parse_pending_member(member) for member in members]

"""The event catalogue and the one envelope every server -> client frame uses (docs/protocol.md).

A frame is `{"type": "<event>", "data": {...}}`, JSON text. Events about a match carry the match's
`sequence`; events about the tournament as a whole carry the tournament's `sequence`. Sequences are
assigned in Redis at publish time, so frames are rendered as a `FrameTemplate` whose sequence the
publishing Lua script fills in (realtime/store/lua/lib/publish.lua).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Event(StrEnum):
    # match events: data has match_id, tournament_id, sequence (the match's)
    MATCH_STARTED = "match_started"
    SCORE_UPDATED = "score_updated"
    GAME_COMPLETED = "game_completed"
    MATCH_COMPLETED = "match_completed"
    MATCH_REOPENED = "match_reopened"
    DISPUTE_CREATED = "dispute_created"
    DISPUTE_RESOLVED = "dispute_resolved"
    # tournament events: data has tournament_id, sequence (the tournament's)
    BRACKET_GENERATED = "bracket_generated"
    BRACKET_UPDATED = "bracket_updated"
    PARTICIPANTS_UPDATED = "participants_updated"
    TOURNAMENT_UPDATED = "tournament_updated"
    TOURNAMENT_COMPLETED = "tournament_completed"
    TOURNAMENT_REOPENED = "tournament_reopened"
    STANDINGS_UPDATED = "standings_updated"


class Control(StrEnum):
    """Frames that are not domain events."""

    SNAPSHOT = "snapshot"
    RESUMED = "resumed"
    BATCH = "batch"  # latest scores of several matches, on tournament rooms (realtime/fanout.py)
    PONG = "pong"
    ERROR = "error"


# Fields every frame of the event carries in `data` (the public contract; tests check frames against it).
# `version` is the match's own change counter (state, participants, winner): frames that change those
# carry it, and so do the match entries of bracket frames, so a client keeps the newest of each match
# whatever order frames built in different transactions arrive in.
_MATCH = frozenset({"match_id", "tournament_id", "sequence"})
# Every frame with a score carries its `score_version` (how many score writes the match has had), so
# a client can tell which of two scores (an answer to its own post, a frame) is the newer, and the
# number of the `game` (of the match's series) the score is of.
_SCORES = frozenset({"participant1_score", "participant2_score", "score_version", "game"})
# `series`: [wins of participant 1, wins of participant 2].
REQUIRED_FIELDS: dict[Event, frozenset[str]] = {
    Event.MATCH_STARTED: _MATCH | {"version", "participant1_id", "participant2_id"},
    Event.SCORE_UPDATED: _MATCH | _SCORES,
    # the game's final score; winner_id: the game's winner (series of more than one game only)
    Event.GAME_COMPLETED: _MATCH | _SCORES | {"version", "winner_id", "series"},
    # the last game's score; forfeit: a walkover (not played out), forfeited_by_id None if nobody came
    Event.MATCH_COMPLETED: _MATCH | _SCORES | {"version", "winner_id", "series", "forfeit", "forfeited_by_id"},
    # back to live: the score of the game being played again; participants as before
    Event.MATCH_REOPENED: _MATCH | _SCORES | {"version", "state", "series", "participant1_id", "participant2_id"},
    Event.DISPUTE_CREATED: _MATCH | {"version", "dispute_id", "reason"},
    Event.DISPUTE_RESOLVED: _MATCH | _SCORES | {"version", "dispute_id", "state", "winner_id"},
    Event.BRACKET_GENERATED: frozenset({"tournament_id", "sequence", "matches", "participants"}),
    Event.BRACKET_UPDATED: frozenset({"tournament_id", "sequence", "matches"}),
    Event.PARTICIPANTS_UPDATED: frozenset({"tournament_id", "sequence", "participants"}),
    Event.TOURNAMENT_UPDATED: frozenset({"tournament_id", "sequence", "name", "game", "visibility"}),
    Event.TOURNAMENT_COMPLETED: frozenset({"tournament_id", "sequence", "winner_id", "runner_up_id", "third_place_id"}),
    Event.TOURNAMENT_REOPENED: frozenset({"tournament_id", "sequence", "status"}),
    Event.STANDINGS_UPDATED: frozenset({"tournament_id", "sequence", "groups"}),
}

# Events about one match carry its id (and its sequence); the others are about the tournament.
MATCH_EVENTS = frozenset(event for event, fields in REQUIRED_FIELDS.items() if "match_id" in fields)
TOURNAMENT_EVENTS = frozenset(Event) - MATCH_EVENTS


def encode(frame_type: str, data: dict[str, Any] | None = None) -> str:
    """A complete frame as JSON text (control frames; domain events go through `template`)."""
    return json.dumps({"type": str(frame_type), "data": data or {}}, separators=(",", ":"))


def encode_error(code: str, message: str) -> str:
    return encode(Control.ERROR, {"code": code, "message": message})


def encode_batch(frames: list[str]) -> str:
    """A `batch` frame carrying complete frames (JSON texts), without decoding them again."""
    return f'{{"type":"{Control.BATCH}","data":{{"frames":[{",".join(frames)}]}}}}'


# Filled in by the publishing Lua script, never by the caller: the sequence, and for events that carry
# a score the score and its version (score versions are assigned in Redis, lua/lib/match.lua).
ASSIGNED_BY_REDIS = frozenset({"sequence"})
SCORED_EVENTS = frozenset(event for event, fields in REQUIRED_FIELDS.items() if fields >= _SCORES)


@dataclass(frozen=True)
class FrameTemplate:
    """A frame missing what Redis assigns when it publishes it: the sequence, and for a scored event
    the score fields (`"score_version":v,"participant1_score":p1,"participant2_score":p2,"game":g`).

    The JSON text is `head + str(sequence) + score_fields + tail`; the script concatenates instead of
    parsing JSON (realtime/store/lua/lib/publish.lua).
    """

    head: str
    tail: str
    scored: bool = False

    def render(self, sequence: int, score: tuple[int, int, int, int] | None = None) -> str:
        """As lib/publish.lua renders it; `score` is (p1, p2, score_version, game)."""
        fields = ""
        if score is not None:
            p1, p2, version, game = score
            fields = f',"score_version":{version},"participant1_score":{p1},"participant2_score":{p2},"game":{game}'
        return f"{self.head}{sequence}{fields}{self.tail}"


def template(event: Event, data: dict[str, Any]) -> FrameTemplate:
    """Template for `event` with `data` (everything Redis does not assign), checked against the catalogue."""
    scored = event in SCORED_EVENTS
    assigned = ASSIGNED_BY_REDIS | (_SCORES if scored else frozenset())
    missing = REQUIRED_FIELDS[event] - assigned - data.keys()
    if missing:
        raise ValueError(f"{event} is missing {sorted(missing)}")
    if assigned & data.keys():
        raise ValueError(f"{sorted(assigned & data.keys())} are assigned by Redis, not by the caller")
    body = json.dumps(data, separators=(",", ":"))
    tail = f",{body[1:]}}}" if data else "}}"
    return FrameTemplate(head=f'{{"type":"{event}","data":{{"sequence":', tail=tail, scored=scored)


def score_template(match_id: int, tournament_id: int) -> FrameTemplate:
    """The score_updated frame of a match: Redis fills in the live score when it publishes it."""
    return template(Event.SCORE_UPDATED, {"match_id": match_id, "tournament_id": tournament_id})


def parse_client_json(text: str) -> Any:
    """JSON a client sent; ValueError for anything that is not JSON, however deeply it nests
    (json.loads raises RecursionError, not ValueError, at about a thousand levels)."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("nested too deeply") from None


def validate(text: str) -> dict[str, Any]:
    """Parse a server frame and check it against the catalogue; raise ValueError if it breaks the contract."""
    parsed = json.loads(text)
    if set(parsed) != {"type", "data"} or not isinstance(parsed["data"], dict):
        raise ValueError(f"not an envelope: {text}")
    if parsed["type"] == Control.BATCH:
        frames = parsed["data"].get("frames")
        if set(parsed["data"]) != {"frames"} or not isinstance(frames, list) or not frames:
            raise ValueError(f"not a batch: {text}")
        for frame in frames:
            if validate(json.dumps(frame))["type"] != Event.SCORE_UPDATED:
                raise ValueError(f"a batch carries score_updated frames only: {text}")
        return parsed
    try:
        event = Event(parsed["type"])
    except ValueError:
        if parsed["type"] in set(Control):
            return parsed
        raise
    missing = REQUIRED_FIELDS[event] - parsed["data"].keys()
    if missing:
        raise ValueError(f"{event} frame is missing {sorted(missing)}: {text}")
    return parsed

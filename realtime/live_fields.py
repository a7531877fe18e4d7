"""The realtime fields of a state document: sequences, epoch, published scores, viewers.

The domain's selectors build documents from the database alone (`{"tournament", "participants",
"matches"}` or `{"tournament", "participants", "match"}`); realtime adds what only Redis knows:
- `tournament.sequence` and `tournament.epoch`, each match's `sequence`, and `viewers`;
- for WebSocket snapshots, each match's *published* score (what clients were last sent) instead of
  the database's, which can be a window ahead of it: a snapshot must never be ahead of its sequence.
"""

from __future__ import annotations

import logging

import redis

from .presence import viewers
from .store import history
from .store.history import Position

logger = logging.getLogger(__name__)


def matches_of(document: dict) -> list[dict]:
    return document["matches"] if "matches" in document else [document["match"]]


def overlay(document: dict, position: Position, viewer_counts: dict, *, published_scores: bool) -> dict:
    """Add the realtime fields to `document` (in place) and return it."""
    tournament = document["tournament"]
    tournament["sequence"] = position.of_tournament(tournament["id"])
    tournament["epoch"] = position.epoch
    for match in matches_of(document):
        match["sequence"] = position.of_match(match["id"])
        if published_scores and match["sequence"] > 0:
            # 0:0 (version 0) of the game being played if only match_started went out so far
            p1, p2, version, game = position.published_scores.get(match["id"], (0, 0, 0, match.get("game", 1)))
            match.update(participant1_score=p1, participant2_score=p2, score_version=version, game=game)
            for entry in match.get("games", []):
                if entry["state"] == "live":  # the game being played shows the published score too
                    entry.update(number=game, participant1_score=p1, participant2_score=p2)
    document["viewers"] = viewer_counts
    return document


def overlay_unavailable(document: dict) -> dict:
    """The realtime fields as null: Redis cannot be read right now."""
    document["tournament"]["sequence"] = document["tournament"]["epoch"] = None
    for match in matches_of(document):
        match["sequence"] = None
    document["viewers"] = None
    return document


def add_live_fields(document: dict) -> dict:
    """Sequences, epoch and viewers for the HTTP API; the database's scores are kept.

    Read from Redis after the document was read from the database, so they may be newer than it.
    If Redis is unavailable the document is still answered, with those fields null.
    """
    tournament_id = document["tournament"]["id"]
    match_ids = [match["id"] for match in matches_of(document)]
    try:
        position = history.position(tournament_id, match_ids)
        viewer_counts = viewers(tournament_id, match_ids)
    except redis.RedisError as error:
        logger.warning("realtime fields unavailable: %s", error)
        return overlay_unavailable(document)
    return overlay(document, position, viewer_counts, published_scores=True)

"""The one door from the domain into realtime: tell spectators what happened.

Every function takes plain ids and values, not models, and defers its Redis work to
`transaction.on_commit`: an event goes out only once the change that caused it is committed, and
a rolled-back change broadcasts nothing. Outside a transaction it runs at once. Async callers use
the `a`-prefixed twins. `add_live_fields` is the one read: sequences and viewers for the API.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from asgiref.sync import sync_to_async
from django.db import transaction

from .events import TOURNAMENT_EVENTS, Event, FrameTemplate, template
from .live_fields import add_live_fields
from .store import coalescing
from .tasks import flush_match

__all__ = [
    "add_live_fields",
    "bracket_generated",
    "bracket_updated",
    "dispute_created",
    "dispute_resolved",
    "match_completed",
    "match_started",
    "participants_updated",
    "score_changed",
    "tournament_completed",
    "tournament_updated",
]


def _emit_match_event(event: Event, match_id: int, tournament_id: int, **data: Any) -> None:
    """An event about one match, published (with the match's next sequence) after commit."""
    frame = template(event, {"match_id": match_id, "tournament_id": tournament_id, **data})
    transaction.on_commit(partial(coalescing.emit_match_event, match_id, tournament_id, frame))


def match_started(
    *, match_id: int, tournament_id: int, version: int, participant1_id: int | None, participant2_id: int | None
) -> None:
    _emit_match_event(
        Event.MATCH_STARTED,
        match_id,
        tournament_id,
        version=version,
        participant1_id=participant1_id,
        participant2_id=participant2_id,
    )


def score_changed(
    *, match_id: int, tournament_id: int, version: int, participant1_score: int, participant2_score: int
) -> None:
    """A live match's score changed; spectators get it coalesced, at most once per window."""
    frame = template(
        Event.SCORE_UPDATED,
        {
            "match_id": match_id,
            "tournament_id": tournament_id,
            "score_version": version,
            "participant1_score": participant1_score,
            "participant2_score": participant2_score,
        },
    )
    transaction.on_commit(partial(_submit_score, match_id, tournament_id, version, frame))


def _submit_score(match_id: int, tournament_id: int, version: int, frame: FrameTemplate) -> None:
    submitted = coalescing.submit_score(match_id, tournament_id, version, frame)
    if submitted.needs_flush_task:
        flush_match.apply_async((match_id, tournament_id, submitted.token), countdown=submitted.delay_ms / 1000)


def match_completed(
    *,
    match_id: int,
    tournament_id: int,
    version: int,
    score_version: int,
    participant1_score: int,
    participant2_score: int,
    winner_id: int,
) -> None:
    """Publish the pending score now, then match_completed; nothing about the score follows it."""
    frame = template(
        Event.MATCH_COMPLETED,
        {
            "match_id": match_id,
            "tournament_id": tournament_id,
            "version": version,
            "score_version": score_version,
            "participant1_score": participant1_score,
            "participant2_score": participant2_score,
            "winner_id": winner_id,
        },
    )
    transaction.on_commit(partial(coalescing.complete, match_id, tournament_id, frame))


def dispute_created(*, match_id: int, tournament_id: int, version: int, dispute_id: int, reason: str) -> None:
    _emit_match_event(
        Event.DISPUTE_CREATED, match_id, tournament_id, version=version, dispute_id=dispute_id, reason=reason
    )


def dispute_resolved(
    *,
    match_id: int,
    tournament_id: int,
    version: int,
    score_version: int,
    dispute_id: int,
    state: str,
    participant1_score: int,
    participant2_score: int,
    winner_id: int | None,
) -> None:
    """The match is back to `state` with this (possibly corrected) result."""
    _emit_match_event(
        Event.DISPUTE_RESOLVED,
        match_id,
        tournament_id,
        version=version,
        score_version=score_version,
        dispute_id=dispute_id,
        state=state,
        participant1_score=participant1_score,
        participant2_score=participant2_score,
        winner_id=winner_id,
    )


def _emit_tournament_event(event: Event, tournament_id: int, **data: Any) -> None:
    """An event about the tournament as a whole, to its room (with its next sequence) after commit."""
    if event not in TOURNAMENT_EVENTS:
        raise ValueError(f"{event} is a match event")
    frame = template(event, {"tournament_id": tournament_id, **data})
    transaction.on_commit(partial(coalescing.emit_tournament_event, tournament_id, frame))


def bracket_generated(*, tournament_id: int, matches: list[dict], participants: list[dict]) -> None:
    """A new bracket (possibly empty) replaces any previous one: `matches` is all of it (without
    scores), `participants` everyone in it."""
    _emit_tournament_event(Event.BRACKET_GENERATED, tournament_id, matches=matches, participants=participants)


def bracket_updated(*, tournament_id: int, matches: list[dict]) -> None:
    """Participants moved in the bracket: `matches` is all of it (without scores), each with its version."""
    _emit_tournament_event(Event.BRACKET_UPDATED, tournament_id, matches=matches)


def tournament_updated(*, tournament_id: int, match_ids: list[int], name: str, game: str, visibility: str) -> None:
    """The tournament was renamed, or who may watch it changed (visibility, roles, players): every
    connection to it, in its room and its matches' rooms, checks its access again."""
    frame = template(
        Event.TOURNAMENT_UPDATED, {"tournament_id": tournament_id, "name": name, "game": game, "visibility": visibility}
    )
    transaction.on_commit(
        partial(coalescing.emit_tournament_event, tournament_id, frame, recheck_access_in_matches=match_ids)
    )


def participants_updated(*, tournament_id: int, participants: list[dict]) -> None:
    """Participants were added, renamed or removed without the bracket being drawn again."""
    _emit_tournament_event(Event.PARTICIPANTS_UPDATED, tournament_id, participants=participants)


def tournament_completed(*, tournament_id: int, winner_id: int, runner_up_id: int | None) -> None:
    _emit_tournament_event(Event.TOURNAMENT_COMPLETED, tournament_id, winner_id=winner_id, runner_up_id=runner_up_id)


amatch_started = sync_to_async(match_started)
ascore_changed = sync_to_async(score_changed)
amatch_completed = sync_to_async(match_completed)
adispute_created = sync_to_async(dispute_created)
adispute_resolved = sync_to_async(dispute_resolved)
abracket_generated = sync_to_async(bracket_generated)
abracket_updated = sync_to_async(bracket_updated)
atournament_updated = sync_to_async(tournament_updated)
aparticipants_updated = sync_to_async(participants_updated)
atournament_completed = sync_to_async(tournament_completed)

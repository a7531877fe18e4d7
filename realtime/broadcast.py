"""The one door from the domain into realtime: take live scores, and tell spectators what happened.

Live scores are Redis-first: `submit_live_score` takes one in one round trip (checking in Redis that
the caller officiates the tournament and that the match is live) and answers at once; the flush a
window later publishes it and brings the database up to it (through REALTIME_SCORE_SAVER, the
domain's function: realtime imports nothing of the domain). When Redis does not know the officials
or the match's state it says so, and the domain primes them (`prime_officials`, `prime_match`).

Every other function takes plain ids and values, not models, and defers its Redis work to
`transaction.on_commit`: an event goes out only once the change that caused it is committed, and
a rolled-back change broadcasts nothing. Outside a transaction it runs at once. Async callers use
the `a`-prefixed twins. `add_live_fields` is the one read: sequences, published scores and viewers.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache, partial
from typing import Any, Literal

from django.conf import settings
from django.db import transaction
from django.utils.module_loading import import_string

from project import metrics

from .events import TOURNAMENT_EVENTS, Event, template
from .live_fields import add_live_fields
from .store import coalescing
from .store.coalescing import Gate, Reservation, Submitted
from .tasks import flush_match

__all__ = [
    "Reservation",
    "Submitted",
    "add_live_fields",
    "bracket_generated",
    "bracket_updated",
    "concluded",
    "dispute_created",
    "dispute_resolved",
    "forget_officials",
    "match_reopened",
    "match_started",
    "officials_changed",
    "participants_updated",
    "prime_match",
    "prime_officials",
    "reopen_after_failed_completion",
    "reserve_score_version",
    "standings_updated",
    "submit_live_score",
    "tournament_completed",
    "tournament_reopened",
    "tournament_updated",
]

Score = tuple[int, int, int]  # participant1_score, participant2_score, score_version


def submit_live_score(
    *,
    match_id: int,
    tournament_id: int,
    participant1: int,
    participant2: int,
    user_id: int | None,
    add: bool = False,
    max_score: int,
    game: int | None = None,
) -> Submitted:
    """Take a live score (or, with `add`, add to the live one); spectators get it coalesced, at most
    once per window. Not deferred to a commit: the score lives in Redis first. `user_id` None: a
    caller the domain trusts; else Redis checks it is one of the tournament's officials. `game`:
    refused unless it is the game being played (None: whichever it is)."""
    submitted = coalescing.submit(
        match_id,
        tournament_id,
        participant1,
        participant2,
        user_id=user_id,
        mode="add" if add else "set",
        max_score=max_score,
        game=game,
    )
    metrics.UPDATES_RECEIVED.labels(submitted.status).inc()
    if submitted.needs_flush_task:
        flush_match.apply_async((match_id, tournament_id, submitted.token), countdown=submitted.delay_ms / 1000)
    return submitted


def prime_match(*, match_id: int, tournament_id: int, state: str, version: int, score: Score, game: int) -> None:
    """The match as the database holds it, for Redis's gate (after submit answered state_unknown)."""
    coalescing.prime_match(
        match_id,
        tournament_id,
        state=state,
        state_version=version,
        participant1_score=score[0],
        participant2_score=score[1],
        score_version=score[2],
        game=game,
    )


def prime_officials(*, tournament_id: int, access: int, user_ids: list[int]) -> bool:
    return coalescing.prime_officials(tournament_id, access, user_ids)


def officials_changed(*, tournament_id: int) -> None:
    """Who officiates the tournament changed: Redis forgets its list after commit."""
    transaction.on_commit(partial(coalescing.officials_changed, tournament_id))


def forget_officials(*, tournament_id: int) -> None:
    """Redis's list of the tournament's officials is wrong (the database disagrees): forget it now."""
    coalescing.officials_changed(tournament_id)


def reserve_score_version(
    *, match_id: int, tournament_id: int, floor: int, version: int, closing: bool = False
) -> Reservation:
    """A score version for a score this transaction writes (now, not after commit: it goes into the
    row). `closing`: a game or the match is being completed, so no live score is taken after this
    one, and the reservation's live score is the last one."""
    return coalescing.reserve_score_version(match_id, tournament_id, floor=floor, close=closing, state_version=version)


def reopen_after_failed_completion(*, match_id: int, score_version: int) -> None:
    """The completion that reserved `score_version` (closing) did not commit: take live scores again."""
    coalescing.reopen(match_id, score_version)


@cache
def _event_hooks() -> list[Callable[[str, int, int | None, dict], None]]:
    return [import_string(path) for path in settings.REALTIME_EVENT_HOOKS]


def _tell_hooks(event: Event, tournament_id: int, match_id: int | None, data: dict[str, Any]) -> None:
    """REALTIME_EVENT_HOOKS (webhooks' outbox) hear of every event in the transaction that causes it."""
    for hook in _event_hooks():
        hook(event.value, tournament_id, match_id, data)


def _with_score(data: dict[str, Any], score: Score, game: int) -> dict[str, Any]:
    p1, p2, version = score
    return {**data, "participant1_score": p1, "participant2_score": p2, "score_version": version, "game": game}


def _emit_match_event(
    event: Event,
    match_id: int,
    tournament_id: int,
    *,
    score: Literal["live"] | Score | None = None,
    known_score: Score = (0, 0, 0),
    gate: tuple[str, int] | None = None,
    game: int = 1,
    reopen: bool = False,
    **data: Any,
) -> None:
    """An event about one match, published (with the match's next sequence, after its pending score)
    after commit; `gate` (state, version): what the match accepts from then on; `game`: the game
    being played."""
    fields = {"match_id": match_id, "tournament_id": tournament_id, **data}
    frame = template(event, fields)
    _tell_hooks(
        event, tournament_id, match_id, _with_score(fields, score if isinstance(score, tuple) else known_score, game)
    )
    transaction.on_commit(
        partial(
            coalescing.emit_match_event,
            match_id,
            tournament_id,
            frame,
            score=score,
            known_score=known_score,
            gate=Gate(*gate) if gate else None,
            game=game,
            reopen=reopen,
        )
    )


def match_started(
    *,
    match_id: int,
    tournament_id: int,
    version: int,
    participant1_id: int | None,
    participant2_id: int | None,
    score: Score,
    game: int,
) -> None:
    """The match is live: Redis takes its scores from now on (starting from the database's `score`)."""
    _emit_match_event(
        Event.MATCH_STARTED,
        match_id,
        tournament_id,
        known_score=score,
        gate=("live", version),
        game=game,
        version=version,
        participant1_id=participant1_id,
        participant2_id=participant2_id,
    )


def concluded(
    *,
    match_id: int,
    tournament_id: int,
    version: int,
    score: Score,
    game: int,
    series: list[int],
    game_winner_id: int | None,
    match_winner_id: int | None,
    forfeit: bool = False,
    forfeited_by_id: int | None = None,
) -> None:
    """A game and/or the match ended, with the final `score` of game `game` (its version reserved
    in this transaction): publish the pending score, then game_completed (if `game_winner_id`), then
    match_completed (if `match_winner_id`), in one atomic step. Without a match winner the series
    goes on with the next game, at 0:0; with one, nothing about the match follows."""
    match = {"match_id": match_id, "tournament_id": tournament_id, "version": version, "series": series}
    events = []
    if game_winner_id is not None:
        events.append((Event.GAME_COMPLETED, {**match, "winner_id": game_winner_id}))
    if match_winner_id is not None:
        done = {"winner_id": match_winner_id, "forfeit": forfeit, "forfeited_by_id": forfeited_by_id}
        events.append((Event.MATCH_COMPLETED, {**match, **done}))
    frames = [template(event, fields) for event, fields in events]
    for event, fields in events:
        _tell_hooks(event, tournament_id, match_id, _with_score(fields, score, game))
    transaction.on_commit(
        partial(
            coalescing.conclude,
            match_id,
            tournament_id,
            frames,
            score=score,
            game=game,
            state_version=version,
            next_game=None if match_winner_id is not None else game + 1,
        )
    )


def match_reopened(
    *,
    match_id: int,
    tournament_id: int,
    version: int,
    score: Score,
    game: int,
    series: list[int],
    participant1_id: int | None,
    participant2_id: int | None,
) -> None:
    """A completed match is live again at game `game`, with `score` (its version reserved in this
    transaction): Redis takes its scores again."""
    _emit_match_event(
        Event.MATCH_REOPENED,
        match_id,
        tournament_id,
        score=score,
        known_score=score,
        gate=("live", version),
        game=game,
        reopen=True,
        version=version,
        state="live",
        series=series,
        participant1_id=participant1_id,
        participant2_id=participant2_id,
    )


def dispute_created(
    *, match_id: int, tournament_id: int, version: int, dispute_id: int, reason: str, score: Score, game: int
) -> None:
    """The match is disputed: paused if it was live (no live score is taken until it is resolved)."""
    _emit_match_event(
        Event.DISPUTE_CREATED,
        match_id,
        tournament_id,
        known_score=score,
        gate=("disputed", version),
        game=game,
        version=version,
        dispute_id=dispute_id,
        reason=reason,
    )


def dispute_resolved(
    *,
    match_id: int,
    tournament_id: int,
    version: int,
    dispute_id: int,
    state: str,
    winner_id: int | None,
    corrected: Score | None,
    known_score: Score,
    game: int,
    series: list[int],
) -> None:
    """The match is back to `state` with a `corrected` score (its version reserved in this
    transaction), or with its score unchanged (a live match's live score, as Redis holds it)."""
    _emit_match_event(
        Event.DISPUTE_RESOLVED,
        match_id,
        tournament_id,
        score=corrected if corrected is not None else ("live" if state == "live" else known_score),
        known_score=known_score,
        gate=(state, version),
        game=game,
        version=version,
        dispute_id=dispute_id,
        state=state,
        winner_id=winner_id,
        series=series,
    )


def _emit_tournament_event(event: Event, tournament_id: int, **data: Any) -> None:
    """An event about the tournament as a whole, to its room (with its next sequence) after commit."""
    if event not in TOURNAMENT_EVENTS:
        raise ValueError(f"{event} is a match event")
    fields = {"tournament_id": tournament_id, **data}
    frame = template(event, fields)
    _tell_hooks(event, tournament_id, None, fields)
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
    fields = {"tournament_id": tournament_id, "name": name, "game": game, "visibility": visibility}
    frame = template(Event.TOURNAMENT_UPDATED, fields)
    _tell_hooks(Event.TOURNAMENT_UPDATED, tournament_id, None, fields)
    transaction.on_commit(
        partial(coalescing.emit_tournament_event, tournament_id, frame, recheck_access_in_matches=match_ids)
    )


def participants_updated(*, tournament_id: int, participants: list[dict]) -> None:
    """Participants were added, renamed or removed without the bracket being drawn again."""
    _emit_tournament_event(Event.PARTICIPANTS_UPDATED, tournament_id, participants=participants)


def standings_updated(*, tournament_id: int, groups: list[dict]) -> None:
    """A round robin's tables after a group match's result changed (after that match's own frames)."""
    _emit_tournament_event(Event.STANDINGS_UPDATED, tournament_id, groups=groups)


def tournament_completed(
    *, tournament_id: int, winner_id: int, runner_up_id: int | None, third_place_id: int | None
) -> None:
    _emit_tournament_event(
        Event.TOURNAMENT_COMPLETED,
        tournament_id,
        winner_id=winner_id,
        runner_up_id=runner_up_id,
        third_place_id=third_place_id,
    )


def tournament_reopened(*, tournament_id: int) -> None:
    """A result that completed the tournament was reopened: it is ongoing again, without a champion."""
    _emit_tournament_event(Event.TOURNAMENT_REOPENED, tournament_id, status="ongoing")

"""Live scores: Redis first, the database about once per save interval.

A live score post is the hot path (game servers post many a second). It costs one Redis round trip:
`realtime.broadcast.submit_live_score` checks, in Redis, that the caller officiates the tournament
and that the match is live, and takes the score. The database is not read: Redis holds the officials
of each tournament and a *gate* per match (the state the services last gave it), and when it does not
know them (never told, expired, or the lease ran out) it says so, this module reads them from the
database once, primes Redis, and asks again. A refusal is explained from the database (so a private
tournament's match is a 404 to outsiders, exactly as elsewhere in the API), never from Redis alone.

The flush that publishes a window's score writes it to the database (`save_published_scores`), at
most once per save interval per match; completion and corrections still write in their own
transactions (services/matches.py, disputes.py), with a score version reserved in Redis so that
they are newer than every live score taken before them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth.base_user import AbstractBaseUser

from realtime import broadcast

from .. import selectors
from ..errors import Conflict, Forbidden, Invalid, NotFound
from ..models import MAX_SCORE, Match, TournamentRole

MAX_ADJUSTMENT = 100
OFFICIALS = (TournamentRole.Role.ORGANIZER, TournamentRole.Role.REFEREE)


@dataclass(frozen=True)
class LiveScore:
    """A live score as Redis took it: what the match shows from its next window on."""

    match_id: int
    participant1_score: int
    participant2_score: int
    score_version: int


def check_scores(participant1_score: int, participant2_score: int) -> None:
    for score in (participant1_score, participant2_score):
        if isinstance(score, bool) or not isinstance(score, int) or not 0 <= score <= MAX_SCORE:
            raise Invalid(f"Scores must be whole numbers from 0 to {MAX_SCORE}.")


def update_score(
    *,
    match_id: int,
    participant1_score: int,
    participant2_score: int,
    by: AbstractBaseUser | None = None,
    game: int | None = None,
) -> LiveScore:
    """Record a live score (absolute) of the current game. `by` None: the domain itself (tests,
    simulate), no role check. `game`: refused unless it is the game being played (a feed that is
    behind never writes into the next game); None: whichever it is."""
    check_scores(participant1_score, participant2_score)
    return _submit(match_id, participant1_score, participant2_score, by=by, add=False, game=game)


def adjust_score(
    *,
    match_id: int,
    participant1_delta: int = 0,
    participant2_delta: int = 0,
    by: AbstractBaseUser | None = None,
    game: int | None = None,
) -> LiveScore:
    """Add to a live score (never below 0), atomically in Redis: what a referee's +/− taps send, so
    two referees tapping at once both count (absolute posts would overwrite each other)."""
    for delta in (participant1_delta, participant2_delta):
        if isinstance(delta, bool) or not isinstance(delta, int) or abs(delta) > MAX_ADJUSTMENT:
            raise Invalid(f"Adjustments are whole numbers from -{MAX_ADJUSTMENT} to {MAX_ADJUSTMENT}.")
    return _submit(match_id, participant1_delta, participant2_delta, by=by, add=True, game=game)


def _submit(
    match_id: int, participant1: int, participant2: int, *, by: AbstractBaseUser | None, add: bool, game: int | None
) -> LiveScore:
    trusted = by is None or by.is_superuser
    tournament_id = _tournament_of_match(match_id)
    # At most one priming of each kind: a second "unknown" means another change raced this one.
    for _ in range(3):
        submitted = broadcast.submit_live_score(
            match_id=match_id,
            tournament_id=tournament_id,
            participant1=participant1,
            participant2=participant2,
            user_id=None if trusted else by.pk,
            add=add,
            max_score=MAX_SCORE,
            game=game,
        )
        if submitted.accepted:
            return LiveScore(
                match_id, submitted.participant1_score, submitted.participant2_score, submitted.score_version
            )
        if submitted.status == "officials_unknown":
            broadcast.prime_officials(
                tournament_id=tournament_id, access=submitted.access, user_ids=selectors.official_ids(tournament_id)
            )
        elif submitted.status == "state_unknown":
            tournament_id = _prime_gate(match_id)
        elif submitted.status == "forbidden":
            _explain_forbidden(match_id, tournament_id, by)
        elif submitted.status == "wrong_game":
            raise Conflict(f"Game {submitted.game} is being played: this score is for game {game}.", field="game")
        else:  # not_live
            raise Conflict(_not_live_message(submitted.state))
    raise Conflict("The match changed while the score was being posted; post it again.")


# A match never changes tournament, so its tournament id is cached for the life of the process. Redis
# checks it anyway (the gate records the tournament it was primed for), so a stale entry (a database
# reset under a running process) costs one priming and is then corrected.
_tournaments_of_matches: dict[int, int] = {}


def _tournament_of_match(match_id: int) -> int:
    tournament_id = _tournaments_of_matches.get(match_id)
    if tournament_id is None:
        tournament_id = selectors.tournament_of_match_or_none(match_id)
        if tournament_id is None:
            raise NotFound(f"Match {match_id} does not exist.")
        if len(_tournaments_of_matches) > 100_000:
            _tournaments_of_matches.clear()
        _tournaments_of_matches[match_id] = tournament_id
    return tournament_id


def _prime_gate(match_id: int) -> int:
    """Tell Redis the match's state as the database holds it; returns its tournament."""
    match = Match.objects.filter(pk=match_id).only(*_GATE_FIELDS).first()
    if match is None:
        _tournaments_of_matches.pop(match_id, None)
        raise NotFound(f"Match {match_id} does not exist.")
    _tournaments_of_matches[match_id] = match.tournament_id
    broadcast.prime_match(
        match_id=match_id,
        tournament_id=match.tournament_id,
        state=match.state,
        version=match.version,
        score=(match.participant1_score, match.participant2_score, match.score_version),
        game=match.game,
    )
    return match.tournament_id


_GATE_FIELDS = (
    "tournament_id", "state", "version", "participant1_score", "participant2_score", "score_version", "game",
)  # fmt: skip


def _explain_forbidden(match_id: int, tournament_id: int, user: AbstractBaseUser) -> None:
    """Redis says `user` officiates no match of this tournament: checked against the database, and
    answered as every other endpoint answers (404 if they may not even see it, else 403). If the
    database says they do officiate (a role Redis was not told about), Redis forgets its list and
    the caller asks again."""
    if selectors.has_role(tournament_id, user, *OFFICIALS):
        broadcast.forget_officials(tournament_id=tournament_id)
        return
    match = Match.objects.select_related("tournament").filter(pk=match_id).first()
    if match is None or not selectors.can_watch(match.tournament, user):
        raise NotFound(f"Match {match_id} does not exist.")
    raise Forbidden("This needs the organizer or referee role in this tournament.")


def _not_live_message(state: str) -> str:
    if state == "closing":
        return "The game is being completed: scores are no longer taken for it."
    return f"Scores can only be posted to a live match; this one is {state}."


def save_published_scores(rows: Iterable[tuple[int, int, int, int]]) -> None:
    """Bring the database up to published live scores: (match_id, p1, p2, score_version) rows.

    Called by the flush (realtime/tasks.py, REALTIME_SCORE_SAVER). A row is written only if it is
    newer than what the database holds: a completion or a correction written meanwhile (with a
    version reserved after every live score) is never overwritten by an older live score. Nor is a
    completed match's result, whatever the version: once completed, only its own transactions
    (completion, corrections) write its score.
    """
    for match_id, participant1_score, participant2_score, score_version in rows:
        unsaved = Match.objects.filter(pk=match_id, score_version__lt=score_version)
        unsaved.exclude(state=Match.State.COMPLETED).update(
            participant1_score=participant1_score, participant2_score=participant2_score, score_version=score_version
        )

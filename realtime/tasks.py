"""Celery tasks of the coalescing engine: the countdown flush, and the sweep of what a flush left behind.

A flush publishes a window's latest score and brings the database up to it, at most once per
REALTIME_SAVE_INTERVAL_MS per match: at once when the interval has passed since the last save, else
through a save task scheduled for the interval's end. Saving goes through REALTIME_SCORE_SAVER, the
domain's function (a dotted path in the settings), which realtime calls without importing the domain.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from celery import shared_task
from django.conf import settings
from django.utils.module_loading import import_string

from project import metrics

from .store import coalescing

logger = logging.getLogger(__name__)

# (match_id, participant1_score, participant2_score, score_version), newest wins in the database.
ScoreRow = tuple[int, int, int, int]


def _score_saver() -> Callable[[Iterable[ScoreRow]], None]:
    return import_string(settings.REALTIME_SCORE_SAVER)


def save_scores(rows: list[tuple[int, int, tuple[int, int, int]]]) -> None:
    """Write (match_id, tournament_id, (p1, p2, score_version)) to the database, then tell Redis."""
    if not rows:
        return
    _score_saver()([(match_id, *score) for match_id, _, score in rows])
    for match_id, tournament_id, score in rows:
        coalescing.saved(match_id, tournament_id, score[2])


def _save(match_id: int, tournament_id: int, save: coalescing.Save) -> None:
    if save.now is not None:
        try:
            save_scores([(match_id, tournament_id, save.now)])
        except Exception:  # the database is down, say: the score stays unsaved, and the sweep retries it
            logger.exception("saving the score of match %s failed; the sweep will retry", match_id)
    elif save.in_ms:
        save_match.apply_async((match_id, tournament_id, save.task), countdown=save.in_ms / 1000)


def flush(match_id: int, tournament_id: int, token: int | None) -> int:
    """Publish the match's pending score (token-checked; None: whatever is pending) and save it, now
    or at the end of the save interval. Returns the published sequence, or 0."""
    flushed = coalescing.flush(match_id, tournament_id, token)
    if flushed.sequence:
        metrics.BATCHES_FLUSHED.labels("sweep" if token is None else "task").inc()
        metrics.FLUSH_LAG.observe(flushed.lag_ms / 1000)
    _save(match_id, tournament_id, flushed.save)
    return flushed.sequence


@shared_task(ignore_result=True)
def save_match(match_id: int, tournament_id: int, task: int) -> None:
    """Bring the database up to the match's published score, once its save interval has passed.

    Scheduled by a flush inside the interval (one at a time per match). Idempotent: a score the
    database already holds is not written again."""
    _save(match_id, tournament_id, coalescing.claim_save(match_id, task))


@shared_task(ignore_result=True)
def flush_match(match_id: int, tournament_id: int, token: int) -> int:
    """Publish the match's pending score if `token` is still the current one.

    Scheduled with a countdown of one window by the first update of a batch. Idempotent: a stale
    token or a second delivery finds nothing to do. Returns the published sequence or 0.
    """
    return flush(match_id, tournament_id, token)


def flush_pending_batches(pending_for_ms: int) -> int:
    """Flush every batch pending for at least `pending_for_ms`; returns how many were published.

    The sweep passes max-wait; tests pass 0 to flush everything now, deterministically.
    """
    flushed = 0
    for match_id, tournament_id in coalescing.overdue_batches(pending_for_ms):
        if flush(match_id, tournament_id, token=None):
            flushed += 1
    return flushed


def save_overdue_scores() -> int:
    """Save every published score the database has been behind for longer than the save interval
    (a stream that stopped before its save was due, a worker that died before writing). Returns how many."""
    rows = coalescing.overdue_unsaved()
    save_scores(rows)
    return len(rows)


@shared_task(ignore_result=True)
def sweep_overdue_batches() -> int:
    """Flush batches whose flush never ran (worker killed, task lost), and save unsaved scores.

    Run every REALTIME_SWEEP_INTERVAL_S by django-celery-beat; a batch is overdue once it has been
    pending for max-wait, so a latest score reaches clients within max-wait + one sweep interval, and
    the database within the save interval + one sweep interval.
    """
    flushed = flush_pending_batches(settings.REALTIME_MAX_WAIT_MS)
    if flushed:
        logger.warning("sweep flushed %d overdue score batch(es)", flushed)
    save_overdue_scores()
    return flushed

"""Celery tasks of the coalescing engine."""

import logging

from celery import shared_task
from django.conf import settings

from .store import coalescing

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def flush_match(match_id: int, tournament_id: int, token: int) -> int:
    """Publish the match's pending score if `token` is still the current one .

    Scheduled with a countdown of one window by the first update of a batch. Idempotent: a stale
    token or a second delivery finds nothing to do. Returns the published sequence or 0.
    """
    return coalescing.flush(match_id, tournament_id, token)


def flush_pending_batches(pending_for_ms: int) -> int:
    """Flush every batch pending for at least `pending_for_ms`; returns how many were published.

    The sweep passes max-wait; tests pass 0 to flush everything now, deterministically.
    """
    flushed = 0
    for match_id, tournament_id in coalescing.overdue_batches(pending_for_ms):
        if coalescing.flush(match_id, tournament_id, token=None):
            flushed += 1
    return flushed


@shared_task(ignore_result=True)
def sweep_overdue_batches() -> int:
    """Flush batches whose flush never ran (worker killed, task lost).

    Run every REALTIME_SWEEP_INTERVAL_S by django-celery-beat; a batch is overdue once it has been
    pending for max-wait, so a latest score reaches clients within max-wait + one sweep interval.
    """
    flushed = flush_pending_batches(settings.REALTIME_MAX_WAIT_MS)
    if flushed:
        logger.warning("sweep flushed %d overdue score batch(es)", flushed)
    return flushed

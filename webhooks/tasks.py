"""Sending deliveries (Celery, queue "webhooks": a slow receiver never holds up score flushes).

At least once: a delivery is claimed for one attempt with a lease (`claimed_until`); a worker that
dies mid-attempt leaves it claimed until the lease ends, and the sweep then sends it again (the
receiver may get it twice: it dedupes by the event's `id`). In order per match: a delivery waits
while an earlier one of its match (or one about the whole tournament) to the same webhook is
pending, and a tournament event waits for every earlier one; so a receiver sees them in order unless
an earlier one was abandoned. Matches do not wait for each other.
Retries back off exponentially with jitter up to WEBHOOK_RETRY_MAX_S, for WEBHOOK_RETRY_FOR_S (a
day); WEBHOOK_DISABLE_AFTER consecutive failed attempts disable the webhook (an organizer turns it
on again).
"""

from __future__ import annotations

import logging
import random
import time
from datetime import timedelta

import httpx
from celery import shared_task
from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from project import metrics

from . import services, signing, targets
from .models import Delivery, Webhook

logger = logging.getLogger(__name__)


def backoff_s(attempts: int) -> float:
    """The pause before attempt `attempts + 1`: doubling from WEBHOOK_RETRY_BASE_S, capped, with jitter."""
    ceiling = min(settings.WEBHOOK_RETRY_MAX_S, settings.WEBHOOK_RETRY_BASE_S * 2 ** (attempts - 1))
    return ceiling / 2 + random.random() * ceiling / 2  # noqa: S311 - jitter, not a secret


def _claim(delivery_id: int) -> bool:
    now = timezone.now()
    lease = now + timedelta(seconds=settings.WEBHOOK_LEASE_S)
    claimable = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    return bool(
        Delivery.objects.filter(claimable, pk=delivery_id, state=Delivery.State.PENDING, next_attempt_at__lte=now,
                                webhook__enabled=True).update(claimed_until=lease)
    )  # fmt: skip


def _earlier_pending(delivery: Delivery) -> Delivery | None:
    """The earliest delivery this one waits for: of its match, or about the tournament as a whole (a
    tournament event waits for every earlier one: tournament_completed after the final's match_completed)."""
    earlier = Delivery.objects.filter(webhook_id=delivery.webhook_id, state=Delivery.State.PENDING, id__lt=delivery.id)
    if delivery.match_id is not None:
        earlier = earlier.filter(Q(match_id=delivery.match_id) | Q(match_id__isnull=True))
    return earlier.order_by("id").first()


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def deliver(delivery_id: int) -> None:
    if not _claim(delivery_id):
        return  # delivered, abandoned, not due, another attempt under way, or its webhook disabled
    delivery = Delivery.objects.select_related("webhook").get(pk=delivery_id)
    earlier = _earlier_pending(delivery)
    if earlier is not None:  # it goes after the earlier one of its match
        _release(delivery, max(earlier.next_attempt_at, timezone.now()) + timedelta(seconds=0.5))
        return
    outcome = _attempt(delivery.webhook, delivery)
    if outcome is None:
        metrics.WEBHOOK_DELIVERIES.labels("delivered").inc()
        _succeeded(delivery)
    else:
        metrics.WEBHOOK_DELIVERIES.labels("failed").inc()
        _failed(delivery, *outcome)


def _attempt(webhook: Webhook, delivery: Delivery) -> tuple[int | None, str] | None:
    """None if the receiver took it (2xx), else (status code or None, what went wrong)."""
    try:
        targets.check(webhook.url)
    except targets.RefusedTarget as error:
        return None, str(error)
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "live-tournament-scores-webhooks/1",
        "X-Webhook-Id": str(delivery.event_id),
        "X-Webhook-Event": delivery.event_type,
        "X-Webhook-Timestamp": timestamp,
        "X-Signature": signing.signature_header(services.secrets_in_use(webhook), timestamp, delivery.body),
    }
    try:
        # No redirects: one to a private address would get around the target check.
        response = httpx.post(
            webhook.url, content=delivery.body.encode(), headers=headers, timeout=settings.WEBHOOK_TIMEOUT_S,
            follow_redirects=False,
        )  # fmt: skip
    except httpx.TimeoutException:
        return None, f"no answer within {settings.WEBHOOK_TIMEOUT_S:g}s"
    except httpx.HTTPError as error:
        return None, f"{type(error).__name__}: {error}"[:300]
    if 200 <= response.status_code < 300:
        return None
    return response.status_code, f"answered {response.status_code}"


def _release(delivery: Delivery, at) -> None:
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=at, claimed_until=None)


def _succeeded(delivery: Delivery) -> None:
    Delivery.objects.filter(pk=delivery.pk).update(
        state=Delivery.State.DELIVERED, attempts=F("attempts") + 1, delivered_at=timezone.now(), claimed_until=None,
        last_status_code=None, last_error="",
    )  # fmt: skip
    Webhook.objects.filter(pk=delivery.webhook_id).update(consecutive_failures=0)
    _send_next(delivery)


def _failed(delivery: Delivery, status_code: int | None, error: str) -> None:
    attempts = delivery.attempts + 1
    now = timezone.now()
    gave_up = now - delivery.created_at >= timedelta(seconds=settings.WEBHOOK_RETRY_FOR_S)
    pause = backoff_s(attempts)
    Delivery.objects.filter(pk=delivery.pk).update(
        state=Delivery.State.ABANDONED if gave_up else Delivery.State.PENDING, attempts=attempts,
        next_attempt_at=now + timedelta(seconds=pause), claimed_until=None, last_status_code=status_code,
        last_error=error[:300],
    )  # fmt: skip
    Webhook.objects.filter(pk=delivery.webhook_id).update(consecutive_failures=F("consecutive_failures") + 1)
    disabled = Webhook.objects.filter(
        pk=delivery.webhook_id, enabled=True, consecutive_failures__gte=settings.WEBHOOK_DISABLE_AFTER
    ).update(enabled=False, disabled_reason=f"{settings.WEBHOOK_DISABLE_AFTER} failed attempts in a row: {error[:100]}")
    if disabled:
        logger.warning(
            "webhook %s disabled after %s failed attempts", delivery.webhook_id, settings.WEBHOOK_DISABLE_AFTER
        )
    logger.info("delivery %s failed (%s); %s", delivery.pk, error, "abandoned" if gave_up else f"retry in {pause:.1f}s")
    if gave_up:
        _send_next(delivery)
    elif pause < settings.WEBHOOK_SWEEP_INTERVAL_S * 10:  # a short pause: a countdown; a long one: the sweep
        deliver.apply_async((delivery.pk,), countdown=pause)


def _send_next(delivery: Delivery) -> None:
    """Deliveries that waited for this one: send them now (those that must still wait for another
    wait again; a claim keeps any from being sent twice at once)."""
    following = list(
        Delivery.objects.filter(webhook_id=delivery.webhook_id, state=Delivery.State.PENDING, id__gt=delivery.id)
        .order_by("id").values_list("id", flat=True)[:20]
    )  # fmt: skip
    Delivery.objects.filter(pk__in=following, claimed_until__isnull=True).update(next_attempt_at=timezone.now())
    for delivery_id in following:
        deliver.apply_async((delivery_id,))


@shared_task(ignore_result=True)
def sweep() -> int:
    """Send the deliveries that are due and nobody is sending (their hand-off or retry was lost, a
    worker died mid-attempt, or their webhook was enabled again). Returns how many were sent on."""
    now = timezone.now()
    due = (
        Delivery.objects.filter(state=Delivery.State.PENDING, next_attempt_at__lte=now, webhook__enabled=True)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .order_by("id").values_list("id", flat=True)[: settings.WEBHOOK_SWEEP_BATCH]
    )  # fmt: skip
    ids = list(due)
    for delivery_id in ids:
        deliver.apply_async((delivery_id,))
    return len(ids)

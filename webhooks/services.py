"""Creating, changing and rotating webhooks (organizers, through webhooks/api.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from tournaments.errors import Invalid, NotFound
from tournaments.services._rows import locked_tournament

from . import signing, targets
from .events import WEBHOOK_EVENTS
from .models import Webhook


def _check_events(events: Sequence[str]) -> list[str]:
    unknown = sorted(set(events) - set(WEBHOOK_EVENTS))
    if unknown:
        raise Invalid(
            f"Unknown events {', '.join(unknown)}; webhooks offer {', '.join(WEBHOOK_EVENTS)}.", field="events"
        )
    if not events:
        raise Invalid("Name at least one event.", field="events")
    return sorted(set(events))


def _check_url(url: str) -> None:
    try:
        targets.check(url)
    except targets.RefusedTarget as error:
        raise Invalid(str(error), field="url") from None


def create_webhook(*, tournament_id: int, url: str, events: Sequence[str]) -> Webhook:
    """A webhook with a fresh secret (shown to the organizer once, in the answer)."""
    events = _check_events(events)
    _check_url(url)
    with transaction.atomic():
        tournament = locked_tournament(tournament_id)
        if tournament.webhooks.count() >= settings.WEBHOOKS_PER_TOURNAMENT:
            raise Invalid(f"A tournament has at most {settings.WEBHOOKS_PER_TOURNAMENT} webhooks.", field="url")
        return Webhook.objects.create(tournament=tournament, url=url, events=events, secret=signing.new_secret())


def _locked(webhook_id: int) -> Webhook:
    webhook = Webhook.objects.select_for_update().filter(pk=webhook_id).first()
    if webhook is None:
        raise NotFound(f"Webhook {webhook_id} does not exist.")
    return webhook


def update_webhook(
    *, webhook_id: int, url: str | None = None, events: Sequence[str] | None = None, enabled: bool | None = None
) -> Webhook:
    """Change where it sends and what; `enabled=True` turns a webhook disabled after failures back on
    (its pending deliveries go out again, oldest first)."""
    events = _check_events(events) if events is not None else None
    if url is not None:
        _check_url(url)
    with transaction.atomic():
        webhook = _locked(webhook_id)
        if url is not None:
            webhook.url = url
        if events is not None:
            webhook.events = events
        if enabled is not None:
            webhook.enabled = enabled
            if enabled:
                webhook.consecutive_failures = 0
                webhook.disabled_reason = ""
            else:
                webhook.disabled_reason = "disabled by an organizer"
        webhook.save()
    return webhook


def rotate_secret(*, webhook_id: int) -> Webhook:
    """A new secret (shown once); the old one still signs, next to it, for WEBHOOK_ROTATION_GRACE_S."""
    with transaction.atomic():
        webhook = _locked(webhook_id)
        webhook.previous_secret, webhook.secret = webhook.secret, signing.new_secret()
        webhook.secret_rotated_at = timezone.now()
        webhook.save(update_fields=["previous_secret", "secret", "secret_rotated_at"])
    return webhook


def secrets_in_use(webhook: Webhook) -> list[str]:
    """The secrets a delivery is signed with now: the current one, and the previous one in its grace."""
    grace = timedelta(seconds=settings.WEBHOOK_ROTATION_GRACE_S)
    if webhook.previous_secret and webhook.secret_rotated_at and timezone.now() - webhook.secret_rotated_at < grace:
        return [webhook.secret, webhook.previous_secret]
    return [webhook.secret]


def delete_webhook(*, webhook_id: int) -> None:
    with transaction.atomic():
        _locked(webhook_id).delete()

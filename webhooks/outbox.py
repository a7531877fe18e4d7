"""Events become deliveries in the transaction that caused them (a transactional outbox): a change
that commits has its deliveries stored with it, one that rolls back has none. After commit each is
handed to the webhooks queue; the sweep (webhooks/tasks.py) sends whatever that hand-off lost.

Realtime calls `record` for every event it publishes (settings.REALTIME_EVENT_HOOKS): it knows
nothing of webhooks."""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.db import transaction
from django.utils import timezone

from .events import WEBHOOK_EVENTS
from .models import Delivery, Webhook


def record(event_type: str, tournament_id: int, match_id: int | None, data: dict[str, Any]) -> None:
    if event_type not in WEBHOOK_EVENTS:
        return
    hooks = [hook for hook in Webhook.objects.filter(tournament_id=tournament_id) if event_type in hook.events]
    if not hooks:
        return
    now = timezone.now()
    event_id = uuid.uuid4()
    body = json.dumps(
        {"id": str(event_id), "type": event_type, "created_at": now.isoformat(), "tournament_id": tournament_id,
         "data": data},
        separators=(",", ":"),
    )  # fmt: skip
    deliveries = Delivery.objects.bulk_create(
        Delivery(webhook=hook, event_id=event_id, event_type=event_type, match_id=match_id, body=body,
                 next_attempt_at=now)
        for hook in hooks
    )  # fmt: skip
    ids = [delivery.id for delivery in deliveries]
    transaction.on_commit(lambda: _hand_off(ids))


def _hand_off(ids: list[int]) -> None:
    from .tasks import deliver  # the tasks module imports Celery's app: only once needed

    for delivery_id in ids:
        try:
            deliver.apply_async((delivery_id,))
        except Exception:  # the broker away: the sweep sends it
            return

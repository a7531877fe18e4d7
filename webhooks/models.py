"""Webhooks: per tournament, the events an integrator's server wants, and each delivery of them."""

from django.db import models

from tournaments.models import Tournament


class Webhook(models.Model):
    tournament = models.ForeignKey(Tournament, on_delete=models.CASCADE, related_name="webhooks")
    url = models.URLField(max_length=2000)
    events = models.JSONField(default=list)  # event types (webhooks/events.py WEBHOOK_EVENTS)
    secret = models.CharField(max_length=64)
    # After a rotation, deliveries are signed with both secrets for WEBHOOK_ROTATION_GRACE_S.
    previous_secret = models.CharField(max_length=64, blank=True)
    secret_rotated_at = models.DateTimeField(null=True, blank=True)
    enabled = models.BooleanField(default=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    disabled_reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["tournament", "id"]

    def __str__(self) -> str:
        return f"{self.url} ({self.tournament})"


class Delivery(models.Model):
    """One event for one webhook: sent until the receiver answers 2xx, or abandoned after
    WEBHOOK_RETRY_FOR_S. `event_id` is the same for every webhook that gets the event."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        ABANDONED = "abandoned", "Abandoned (retried for too long)"

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event_id = models.UUIDField()
    event_type = models.CharField(max_length=40)
    match_id = models.BigIntegerField(null=True, blank=True)  # deliveries of one match go in order
    body = models.TextField()  # the exact JSON that is signed and sent
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    claimed_until = models.DateTimeField(null=True, blank=True)  # an attempt under way (a lease)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "deliveries"
        indexes = [models.Index(fields=["state", "next_attempt_at"]), models.Index(fields=["webhook", "match_id"])]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id} → {self.webhook.url}: {self.state}"

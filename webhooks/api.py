"""The webhooks API (organizers of the tournament): docs/api.md "Webhooks"."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from tournaments.api.access import ORGANIZER, require_role, visible
from tournaments.api.serializers import StrictBooleanField, StrictCharField, valid
from tournaments.models import Tournament

from . import services
from .events import WEBHOOK_EVENTS
from .models import Delivery, Webhook


class WebhookInput(serializers.Serializer):
    url = StrictCharField(max_length=2000)
    events = serializers.ListField(child=serializers.ChoiceField(WEBHOOK_EVENTS), min_length=1, max_length=50)


class WebhookUpdateInput(serializers.Serializer):
    url = StrictCharField(max_length=2000, required=False)
    events = serializers.ListField(
        child=serializers.ChoiceField(WEBHOOK_EVENTS), min_length=1, max_length=50, required=False
    )
    enabled = StrictBooleanField(required=False)


class WebhookOutput(serializers.Serializer):
    id = serializers.IntegerField()
    tournament_id = serializers.IntegerField()
    url = serializers.CharField()
    events = serializers.ListField(child=serializers.CharField())
    enabled = serializers.BooleanField()
    consecutive_failures = serializers.IntegerField()
    disabled_reason = serializers.CharField()
    created_at = serializers.DateTimeField()


class WebhookWithSecretOutput(WebhookOutput):
    secret = serializers.CharField(help_text="Shown once: keep it to check signatures.")


class DeliveryOutput(serializers.Serializer):
    id = serializers.IntegerField()
    event_id = serializers.UUIDField()
    event_type = serializers.CharField()
    state = serializers.CharField(help_text="pending, delivered or abandoned")
    attempts = serializers.IntegerField()
    next_attempt_at = serializers.DateTimeField()
    last_status_code = serializers.IntegerField(allow_null=True)
    last_error = serializers.CharField()
    created_at = serializers.DateTimeField()
    delivered_at = serializers.DateTimeField(allow_null=True)


def organized_webhook(request, webhook_id: int) -> Webhook:
    webhook = visible(Webhook.objects.all(), webhook_id, request, tournament="tournament")
    require_role(request, webhook.tournament_id, ORGANIZER)
    return webhook


class Webhooks(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=WebhookOutput(many=True))
    def get(self, request, tournament_id: int):
        visible(Tournament.objects.all(), tournament_id, request)
        require_role(request, tournament_id, ORGANIZER)
        return Response(WebhookOutput(Webhook.objects.filter(tournament_id=tournament_id), many=True).data)

    @extend_schema(request=WebhookInput, responses={201: WebhookWithSecretOutput})
    def post(self, request, tournament_id: int):
        visible(Tournament.objects.all(), tournament_id, request)
        require_role(request, tournament_id, ORGANIZER)
        data = valid(WebhookInput, request)
        webhook = services.create_webhook(tournament_id=tournament_id, **data)
        return Response(WebhookWithSecretOutput(webhook).data, status=status.HTTP_201_CREATED)


class WebhookDetail(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=WebhookOutput)
    def get(self, request, webhook_id: int):
        return Response(WebhookOutput(organized_webhook(request, webhook_id)).data)

    @extend_schema(request=WebhookUpdateInput, responses=WebhookOutput)
    def patch(self, request, webhook_id: int):
        data = valid(WebhookUpdateInput, request)
        organized_webhook(request, webhook_id)
        return Response(WebhookOutput(services.update_webhook(webhook_id=webhook_id, **data)).data)

    @extend_schema(responses={204: None})
    def delete(self, request, webhook_id: int):
        organized_webhook(request, webhook_id)
        services.delete_webhook(webhook_id=webhook_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class RotateSecret(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses=WebhookWithSecretOutput)
    def post(self, request, webhook_id: int):
        organized_webhook(request, webhook_id)
        return Response(WebhookWithSecretOutput(services.rotate_secret(webhook_id=webhook_id)).data)


class Deliveries(APIView):
    """The webhook's latest deliveries, newest first (?state=pending|delivered|abandoned)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses=DeliveryOutput(many=True))
    def get(self, request, webhook_id: int):
        organized_webhook(request, webhook_id)
        deliveries = Delivery.objects.filter(webhook_id=webhook_id)
        wanted = request.query_params.get("state")
        if wanted in Delivery.State.values:
            deliveries = deliveries.filter(state=wanted)
        return Response(DeliveryOutput(deliveries[:100], many=True).data)

"""HTTP API (SPEC §5): thin views over services and selectors, per-tournament permissions."""

from __future__ import annotations

import logging

import redis
from django.db import DatabaseError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, inline_serializer
from kombu.exceptions import OperationalError as BrokerError
from rest_framework import serializers, status
from rest_framework.exceptions import APIException, NotAuthenticated, PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from . import selectors, services
from .models import MAX_SCORE, Dispute, Match, Tournament, TournamentRole

logger = logging.getLogger(__name__)

ORGANIZER = TournamentRole.Role.ORGANIZER
REFEREE = TournamentRole.Role.REFEREE


def _error(code: str, message: str, http_status: int, details=None) -> Response:
    body = {"error": {"code": code, "message": message}}
    if details is not None:
        body["error"]["details"] = details
    return Response(body, status=http_status)


def exception_handler(exc, context):
    """One error shape for every 4xx/5xx: {"error": {"code", "message", "details"?}}."""
    if isinstance(exc, services.DomainError):
        return _error(exc.code, exc.message, exc.status)
    if isinstance(exc, (redis.RedisError, BrokerError)):
        logger.warning("realtime backend unavailable: %s", exc)
        return _error(
            "unavailable",
            "The live-score service is temporarily unavailable; retry shortly (scores are absolute, retrying is safe).",
            status.HTTP_503_SERVICE_UNAVAILABLE,
        )
    if isinstance(exc, DatabaseError):
        logger.exception("database error")
        return _error("unavailable", "The database is temporarily unavailable.", status.HTTP_503_SERVICE_UNAVAILABLE)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, serializers.ValidationError):
        return _error("invalid", "The request body is invalid.", response.status_code, response.data)
    if isinstance(exc, APIException):
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        return _error(exc.default_code, detail, response.status_code)
    return response


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer: refuses "5", 5.0 and true that IntegerField would coerce."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class ScoreSerializer(serializers.Serializer):
    participant1_score = StrictIntegerField(min_value=0, max_value=MAX_SCORE)
    participant2_score = StrictIntegerField(min_value=0, max_value=MAX_SCORE)


class DisputeSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, allow_blank=False, trim_whitespace=True)


class ResolutionSerializer(serializers.Serializer):
    """Keep the result (no scores) or correct it (both scores)."""

    resolution = serializers.CharField(max_length=2000, allow_blank=False, trim_whitespace=True)
    participant1_score = StrictIntegerField(min_value=0, max_value=MAX_SCORE, required=False)
    participant2_score = StrictIntegerField(min_value=0, max_value=MAX_SCORE, required=False)


def _valid(serializer_class, request) -> dict:
    if not isinstance(request.data, dict):
        raise serializers.ValidationError({"non_field_errors": ["Expected a JSON object."]})
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _require_role(request, tournament_id: int, *roles: str) -> None:
    if not request.user or not request.user.is_authenticated:
        raise NotAuthenticated("Authentication required: send 'Authorization: Token <key>'.")
    if not selectors.has_role(tournament_id, request.user, *roles):
        raise PermissionDenied(f"This needs the {' or '.join(roles)} role in this tournament.")


def _existing(queryset, pk: int):
    """The object with this id, or a 404 naming what was looked for."""
    found = queryset.filter(pk=pk).first()
    if found is None:
        raise services.NotFound(f"{queryset.model._meta.verbose_name.capitalize()} {pk} does not exist.")
    return found


def _match_or_404(match_id: int) -> Match:
    return _existing(Match.objects.only("id", "tournament_id"), match_id)


# The full state a client needs: the same document as the WebSocket snapshot (docs/protocol.md).
STATE = {200: OpenApiTypes.OBJECT, 201: OpenApiTypes.OBJECT}
MATCH_STATE = inline_serializer(
    "MatchState", {"match_id": serializers.IntegerField(), "state": serializers.CharField()}
)
SCORES = inline_serializer(
    "Scores",
    {
        "match_id": serializers.IntegerField(),
        "participant1_score": serializers.IntegerField(),
        "participant2_score": serializers.IntegerField(),
        "winner_id": serializers.IntegerField(required=False),
    },
)
RESOLVED = inline_serializer(
    "DisputeResolved",
    {
        "dispute_id": serializers.IntegerField(),
        "match_id": serializers.IntegerField(),
        "state": serializers.CharField(),
        "participant1_score": serializers.IntegerField(),
        "participant2_score": serializers.IntegerField(),
        "winner_id": serializers.IntegerField(allow_null=True),
    },
)
DISPUTE = inline_serializer(
    "DisputeOpened", {"dispute_id": serializers.IntegerField(), "match_id": serializers.IntegerField()}
)


class TournamentDetail(APIView):
    @extend_schema(responses=STATE)
    def get(self, request, tournament_id: int):
        tournament = _existing(Tournament.objects, tournament_id)
        if not selectors.can_watch(tournament, request.user):
            raise PermissionDenied("This tournament is private.")
        return Response(selectors.tournament_detail(tournament_id))


class GenerateBracket(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses=STATE)
    def post(self, request, tournament_id: int):
        _existing(Tournament.objects.only("id"), tournament_id)
        _require_role(request, tournament_id, ORGANIZER)
        services.generate_bracket(tournament_id)
        return Response(selectors.tournament_detail(tournament_id), status=status.HTTP_201_CREATED)


class StartMatch(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses=MATCH_STATE)
    def post(self, request, match_id: int):
        match = _match_or_404(match_id)
        _require_role(request, match.tournament_id, ORGANIZER, REFEREE)
        services.start_match(match_id)
        return Response({"match_id": match_id, "state": Match.State.LIVE})


class PostScore(APIView):
    permission_classes = [IsAuthenticated]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "score"

    @extend_schema(request=ScoreSerializer, responses={202: SCORES})
    def post(self, request, match_id: int):
        scores = _valid(ScoreSerializer, request)
        match = _match_or_404(match_id)
        _require_role(request, match.tournament_id, ORGANIZER, REFEREE)
        services.update_score(match_id, scores["participant1_score"], scores["participant2_score"])
        return Response({"match_id": match_id, **scores}, status=status.HTTP_202_ACCEPTED)


class CompleteMatch(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=ScoreSerializer, responses=SCORES)
    def post(self, request, match_id: int):
        scores = _valid(ScoreSerializer, request)
        match = _match_or_404(match_id)
        _require_role(request, match.tournament_id, ORGANIZER, REFEREE)
        match = services.complete_match(match_id, scores["participant1_score"], scores["participant2_score"])
        return Response({"match_id": match_id, **scores, "winner_id": match.winner_id})


class OpenDispute(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=DisputeSerializer, responses={201: DISPUTE})
    def post(self, request, match_id: int):
        data = _valid(DisputeSerializer, request)
        match = _match_or_404(match_id)
        full = Match.objects.select_related("participant1", "participant2").get(pk=match.pk)
        is_player = request.user.id in {
            getattr(full.participant1, "user_id", None),
            getattr(full.participant2, "user_id", None),
        }
        if not is_player:
            _require_role(request, match.tournament_id, ORGANIZER, REFEREE)
        dispute = services.open_dispute(match_id, request.user, data["reason"])
        return Response({"dispute_id": dispute.id, "match_id": match_id}, status=status.HTTP_201_CREATED)


class ResolveDispute(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=ResolutionSerializer, responses=RESOLVED)
    def post(self, request, dispute_id: int):
        data = _valid(ResolutionSerializer, request)
        dispute = _existing(Dispute.objects.select_related("match"), dispute_id)
        _require_role(request, dispute.match.tournament_id, ORGANIZER)
        services.resolve_dispute(
            dispute_id,
            request.user,
            data["resolution"],
            data.get("participant1_score"),
            data.get("participant2_score"),
        )
        match = Match.objects.get(pk=dispute.match_id)
        return Response(
            {
                "dispute_id": dispute_id,
                "match_id": match.id,
                "state": match.state,
                "participant1_score": match.participant1_score,
                "participant2_score": match.participant2_score,
                "winner_id": match.winner_id,
            }
        )

"""HTTP API: thin views over services and selectors, per-tournament permissions.

Input serializers validate bodies; output serializers shape (and document) every answer; what goes
wrong becomes the one error envelope (tournaments/api_errors.py).
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotAuthenticated, PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from realtime import broadcast

from . import errors, selectors, services
from .models import MAX_SCORE, Dispute, Match, Tournament, TournamentRole

ORGANIZER = TournamentRole.Role.ORGANIZER
REFEREE = TournamentRole.Role.REFEREE

# --- input -------------------------------------------------------------------------------------


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer: refuses "5", 5.0 and true that IntegerField would coerce."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictCharField(serializers.CharField):
    """A JSON string: refuses 5 and true that CharField would turn into "5" and "True"."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


def _text_field() -> StrictCharField:
    return StrictCharField(max_length=2000, allow_blank=False, trim_whitespace=True)


def _score_field(**kwargs) -> StrictIntegerField:
    return StrictIntegerField(min_value=0, max_value=MAX_SCORE, **kwargs)


class ScoreInput(serializers.Serializer):
    participant1_score = _score_field()
    participant2_score = _score_field()


class DisputeInput(serializers.Serializer):
    reason = _text_field()


class ResolutionInput(serializers.Serializer):
    """Keep the result (no scores) or correct it (both scores)."""

    resolution = _text_field()
    participant1_score = _score_field(required=False)
    participant2_score = _score_field(required=False)


def _valid(serializer_class, request) -> dict:
    if not isinstance(request.data, dict):
        raise serializers.ValidationError({"non_field_errors": ["Expected a JSON object."]})
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


# --- output ------------------------------------------------------------------------------------


class MatchStateOutput(serializers.Serializer):
    match_id = serializers.IntegerField(source="id")
    state = serializers.CharField()


class ScoreOutput(serializers.Serializer):
    match_id = serializers.IntegerField(source="id")
    participant1_score = serializers.IntegerField()
    participant2_score = serializers.IntegerField()


class ResultOutput(ScoreOutput):
    winner_id = serializers.IntegerField(allow_null=True)


class DisputeOpenedOutput(serializers.Serializer):
    dispute_id = serializers.IntegerField(source="id")
    match_id = serializers.IntegerField()


class DisputeResolvedOutput(serializers.Serializer):
    dispute_id = serializers.IntegerField(source="id")
    match_id = serializers.IntegerField()
    state = serializers.CharField(source="match.state")
    participant1_score = serializers.IntegerField(source="match.participant1_score")
    participant2_score = serializers.IntegerField(source="match.participant2_score")
    winner_id = serializers.IntegerField(source="match.winner_id", allow_null=True)


class TournamentOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    game = serializers.CharField()
    format = serializers.CharField()
    visibility = serializers.CharField()
    status = serializers.CharField()
    winner_id = serializers.IntegerField(allow_null=True)
    sequence = serializers.IntegerField(allow_null=True, help_text="Null while the live-score service is down.")
    epoch = serializers.CharField(allow_null=True, help_text="Null while the live-score service is down.")


class ParticipantOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    seed = serializers.IntegerField()


class MatchOutput(serializers.Serializer):
    id = serializers.IntegerField()
    round = serializers.IntegerField()
    position = serializers.IntegerField()
    state = serializers.CharField()
    participant1_id = serializers.IntegerField(allow_null=True)
    participant2_id = serializers.IntegerField(allow_null=True)
    participant1_score = serializers.IntegerField()
    participant2_score = serializers.IntegerField()
    winner_id = serializers.IntegerField(allow_null=True)
    sequence = serializers.IntegerField(allow_null=True, help_text="Null while the live-score service is down.")


class ViewersOutput(serializers.Serializer):
    tournament = serializers.IntegerField()
    matches = serializers.DictField(child=serializers.IntegerField(), help_text="match id -> connections")


class TournamentStateOutput(serializers.Serializer):
    """The same document as the WebSocket snapshot (docs/protocol.md), with the database's scores."""

    tournament = TournamentOutput()
    participants = ParticipantOutput(many=True)
    matches = MatchOutput(many=True)
    viewers = ViewersOutput(allow_null=True, help_text="Null while the live-score service is down.")


def _tournament_state(tournament_id: int) -> dict:
    return TournamentStateOutput(broadcast.add_live_fields(selectors.tournament_state(tournament_id))).data


# --- lookups and permissions --------------------------------------------------------------------


def _require_role(request, tournament_id: int, *roles: str) -> None:
    if not request.user or not request.user.is_authenticated:
        raise NotAuthenticated("Authentication required: send 'Authorization: Token <key>'.")
    if not selectors.has_role(tournament_id, request.user, *roles):
        raise PermissionDenied(f"This needs the {' or '.join(roles)} role in this tournament.")


def _visible(queryset, pk: int, request, *, tournament: str = ""):
    """The object with this id, or a 404 naming what was looked for: the same 404 whether it does
    not exist or belongs to a private tournament the caller may not watch (ids leak nothing).

    `tournament` is the path from the object to its tournament ("" for a tournament itself).
    """
    found = (queryset.select_related(tournament) if tournament else queryset).filter(pk=pk).first()
    owner = found
    for step in filter(None, tournament.split("__")):
        owner = getattr(owner, step, None)
    if owner is None or not selectors.can_watch(owner, request.user):
        raise errors.NotFound(f"{queryset.model._meta.verbose_name.capitalize()} {pk} does not exist.")
    return found


def _match_for_officials(request, match_id: int) -> None:
    """404 for an unknown (or hidden) match, else 403 unless the caller officiates its tournament."""
    match = _visible(Match.objects.all(), match_id, request, tournament="tournament")
    _require_role(request, match.tournament_id, ORGANIZER, REFEREE)


# --- views -------------------------------------------------------------------------------------


class TournamentDetail(APIView):
    @extend_schema(responses=TournamentStateOutput)
    def get(self, request, tournament_id: int):
        _visible(Tournament.objects.all(), tournament_id, request)
        return Response(_tournament_state(tournament_id))


class GenerateBracket(APIView):
    permission_classes = [IsAuthenticated]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "bracket"

    @extend_schema(request=None, responses={201: TournamentStateOutput})
    def post(self, request, tournament_id: int):
        _visible(Tournament.objects.all(), tournament_id, request)
        _require_role(request, tournament_id, ORGANIZER)
        services.generate_bracket(tournament_id=tournament_id)
        return Response(_tournament_state(tournament_id), status=status.HTTP_201_CREATED)


class StartMatch(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses=MatchStateOutput)
    def post(self, request, match_id: int):
        _match_for_officials(request, match_id)
        match = services.start_match(match_id=match_id)
        return Response(MatchStateOutput(match).data)


class PostScore(APIView):
    permission_classes = [IsAuthenticated]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "score"

    @extend_schema(request=ScoreInput, responses={202: ScoreOutput})
    def post(self, request, match_id: int):
        scores = _valid(ScoreInput, request)
        _match_for_officials(request, match_id)
        match = services.update_score(match_id=match_id, **scores)
        return Response(ScoreOutput(match).data, status=status.HTTP_202_ACCEPTED)


class CompleteMatch(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=ScoreInput, responses=ResultOutput)
    def post(self, request, match_id: int):
        scores = _valid(ScoreInput, request)
        _match_for_officials(request, match_id)
        match = services.complete_match(match_id=match_id, **scores)
        return Response(ResultOutput(match).data)


class OpenDispute(APIView):
    permission_classes = [IsAuthenticated]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "dispute"

    @extend_schema(request=DisputeInput, responses={201: DisputeOpenedOutput})
    def post(self, request, match_id: int):
        data = _valid(DisputeInput, request)
        match = _visible(
            Match.objects.select_related("participant1", "participant2"), match_id, request, tournament="tournament"
        )
        players = {getattr(match.participant1, "user_id", None), getattr(match.participant2, "user_id", None)}
        if request.user.id not in players:
            _require_role(request, match.tournament_id, ORGANIZER, REFEREE)
        dispute = services.open_dispute(match_id=match_id, opened_by=request.user, reason=data["reason"])
        return Response(DisputeOpenedOutput(dispute).data, status=status.HTTP_201_CREATED)


class ResolveDispute(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=ResolutionInput, responses=DisputeResolvedOutput)
    def post(self, request, dispute_id: int):
        data = _valid(ResolutionInput, request)
        dispute = _visible(Dispute.objects.all(), dispute_id, request, tournament="match__tournament")
        _require_role(request, dispute.match.tournament_id, ORGANIZER)
        dispute = services.resolve_dispute(dispute_id=dispute_id, resolved_by=request.user, **data)
        return Response(DisputeResolvedOutput(dispute).data)

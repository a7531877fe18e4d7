"""Matches and disputes: start, live score, completion, disputes and their resolution."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from .. import selectors, services
from ..models import Dispute, Match
from .access import OFFICIALS, ORGANIZER, match_for_officials, require_role, visible
from .serializers import (
    DisputeInput,
    DisputeOpenedOutput,
    DisputeResolvedOutput,
    ForfeitInput,
    GameCompletedOutput,
    GameResultInput,
    LiveScoreInput,
    MatchStateOutput,
    ResolutionInput,
    ResultOutput,
    ScoreAdjustmentInput,
    ScoreInput,
    ScoreOutput,
    valid,
)
from .throttling import FeedRateThrottle


class StartMatch(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses=MatchStateOutput)
    def post(self, request, match_id: int):
        match_for_officials(request, match_id)
        match = services.start_match(match_id=match_id)
        return Response(MatchStateOutput(match).data)


class PostScore(APIView):
    """The hot path: Redis checks the caller's role and the match's state (services/live_scores.py)."""

    permission_classes = [IsAuthenticated]
    throttle_classes = [FeedRateThrottle]
    throttle_scope = "score"

    @extend_schema(request=LiveScoreInput, responses={202: ScoreOutput})
    def post(self, request, match_id: int):
        scores = valid(LiveScoreInput, request)
        score = services.update_score(match_id=match_id, by=request.user, **scores)
        return Response(ScoreOutput(score).data, status=status.HTTP_202_ACCEPTED)


class AdjustScore(APIView):
    """+/− taps: relative, so concurrent referees both count (a retry of a lost answer counts twice)."""

    permission_classes = [IsAuthenticated]
    throttle_classes = [FeedRateThrottle]
    throttle_scope = "score"

    @extend_schema(request=ScoreAdjustmentInput, responses={200: ScoreOutput})
    def post(self, request, match_id: int):
        data = valid(ScoreAdjustmentInput, request)
        score = services.adjust_score(
            match_id=match_id,
            participant1_delta=data.get("participant1", 0),
            participant2_delta=data.get("participant2", 0),
            by=request.user,
            game=data.get("game"),
        )
        return Response(ScoreOutput(score).data)


class CompleteMatch(APIView):
    """A one-game match's final score (a longer series: CompleteGame)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=ScoreInput, responses=ResultOutput)
    def post(self, request, match_id: int):
        scores = valid(ScoreInput, request)
        match_for_officials(request, match_id)
        match = services.complete_match(match_id=match_id, **scores)
        return Response(ResultOutput(match).data)


class CompleteGame(APIView):
    """End the game being played; the match completes once a side has the wins it needs."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=GameResultInput, responses=GameCompletedOutput)
    def post(self, request, match_id: int):
        data = valid(GameResultInput, request)
        match_for_officials(request, match_id)
        match = services.complete_game(match_id=match_id, **data)
        completed = [game for game in selectors.games_data(match) if game["state"] == "completed"][-1]
        return Response({**ResultOutput(match).data, "completed_game": completed})


class ForfeitMatch(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=ForfeitInput, responses=ResultOutput)
    def post(self, request, match_id: int):
        data = valid(ForfeitInput, request)
        match_for_officials(request, match_id)
        match = services.forfeit_match(match_id=match_id, participant_id=data["participant_id"])
        return Response(ResultOutput(match).data)


class ReopenMatch(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses=ResultOutput)
    def post(self, request, match_id: int):
        match_for_officials(request, match_id, ORGANIZER)
        return Response(ResultOutput(services.reopen_match(match_id=match_id)).data)


class OpenDispute(APIView):
    permission_classes = [IsAuthenticated]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "dispute"

    @extend_schema(request=DisputeInput, responses={201: DisputeOpenedOutput})
    def post(self, request, match_id: int):
        data = valid(DisputeInput, request)
        visible(Match.objects.all(), match_id, request, tournament="tournament")
        # Who may dispute what (players, officials, a completed tournament) is a rule of the domain.
        dispute = services.open_dispute(match_id=match_id, opened_by=request.user, reason=data["reason"])
        return Response(DisputeOpenedOutput(dispute).data, status=status.HTTP_201_CREATED)


class ResolveDispute(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=ResolutionInput, responses=DisputeResolvedOutput)
    def post(self, request, dispute_id: int):
        data = valid(ResolutionInput, request)
        dispute = visible(Dispute.objects.all(), dispute_id, request, tournament="match__tournament")
        require_role(request, dispute.match.tournament_id, *OFFICIALS)
        dispute = services.resolve_dispute(dispute_id=dispute_id, resolved_by=request.user, **data)
        return Response(DisputeResolvedOutput(dispute).data)

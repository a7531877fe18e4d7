"""Tournaments, their participants and their roles: what organizers run an event with (docs/api.md)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotAuthenticated, PermissionDenied
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from realtime import broadcast

from .. import selectors, services
from ..models import Participant, Tournament
from ..services.tournaments import NewParticipant
from .access import OFFICIALS, ORGANIZER, require_role, visible
from .serializers import (
    ParticipantDetailOutput,
    ParticipantInput,
    ParticipantsCreatedOutput,
    ParticipantUpdateInput,
    RoleInput,
    RoleOutput,
    StandingsOutput,
    TournamentCreateInput,
    TournamentStateOutput,
    TournamentSummaryOutput,
    TournamentUpdateInput,
    valid,
)


def tournament_state(tournament_id: int) -> dict:
    """The tournament document: the snapshot's, with the database's latest scores."""
    return TournamentStateOutput(broadcast.add_live_fields(selectors.tournament_state(tournament_id))).data


class TournamentPages(PageNumberPagination):
    page_size = 50


class TournamentList(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("status", enum=Tournament.Status.values, required=False)],
        responses=TournamentSummaryOutput(many=True),
    )
    def get(self, request):
        wanted = request.query_params.get("status")
        if wanted is not None and wanted not in Tournament.Status.values:
            choices = ", ".join(Tournament.Status.values)
            raise serializers.ValidationError({"status": [f"One of {choices}."]})
        pages = TournamentPages()
        page = pages.paginate_queryset(selectors.listed_tournaments(request.user, wanted), request, view=self)
        roles = selectors.roles_of(request.user, [tournament.id for tournament in page])
        for tournament in page:
            tournament.my_roles = roles[tournament.id]
        return pages.get_paginated_response(TournamentSummaryOutput(page, many=True).data)

    @extend_schema(request=TournamentCreateInput, responses={201: TournamentStateOutput})
    def post(self, request):
        if not request.user.is_authenticated:
            raise NotAuthenticated("Authentication required: send 'Authorization: Token <key>'.")
        if not selectors.may_create_tournaments(request.user):
            raise PermissionDenied("Creating tournaments needs an organizer account (manage.py create_organizer).")
        data = valid(TournamentCreateInput, request)
        tournament = services.create_tournament(
            organizer=request.user, participant_names=data.pop("participants", ()), **data
        )
        return Response(tournament_state(tournament.id), status=status.HTTP_201_CREATED)


class TournamentDetail(APIView):
    @extend_schema(responses=TournamentStateOutput)
    def get(self, request, tournament_id: int):
        visible(Tournament.objects.all(), tournament_id, request)
        return Response(tournament_state(tournament_id))

    @extend_schema(request=TournamentUpdateInput, responses=TournamentStateOutput)
    def patch(self, request, tournament_id: int):
        data = valid(TournamentUpdateInput, request)
        visible(Tournament.objects.all(), tournament_id, request)
        require_role(request, tournament_id, ORGANIZER)
        services.update_tournament(tournament_id=tournament_id, **data)
        return Response(tournament_state(tournament_id))

    @extend_schema(responses={204: None})
    def delete(self, request, tournament_id: int):
        visible(Tournament.objects.all(), tournament_id, request)
        require_role(request, tournament_id, ORGANIZER)
        services.delete_tournament(tournament_id=tournament_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class Standings(APIView):
    @extend_schema(responses=StandingsOutput)
    def get(self, request, tournament_id: int):
        visible(Tournament.objects.all(), tournament_id, request)
        return Response({"groups": selectors.standings_data(tournament_id)})


class GenerateBracket(APIView):
    permission_classes = [IsAuthenticated]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "bracket"

    @extend_schema(request=None, responses={201: TournamentStateOutput})
    def post(self, request, tournament_id: int):
        visible(Tournament.objects.all(), tournament_id, request)
        require_role(request, tournament_id, ORGANIZER)
        services.generate_bracket(tournament_id=tournament_id)
        return Response(tournament_state(tournament_id), status=status.HTTP_201_CREATED)


class Participants(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=ParticipantInput, responses={201: ParticipantsCreatedOutput})
    def post(self, request, tournament_id: int):
        data = valid(ParticipantInput, request, many_allowed=True)
        if data == []:
            raise serializers.ValidationError({"non_field_errors": ["Send at least one participant."]})
        visible(Tournament.objects.all(), tournament_id, request)
        require_role(request, tournament_id, ORGANIZER)
        entries = [NewParticipant(**entry) for entry in (data if isinstance(data, list) else [data])]
        created = services.add_participants(tournament_id=tournament_id, entries=entries)
        return Response(ParticipantsCreatedOutput({"participants": created}).data, status=status.HTTP_201_CREATED)


def organized_participant(request, participant_id: int) -> Participant:
    """The participant (404 if hidden), if the caller organizes its tournament (else 403)."""
    participant = visible(Participant.objects.all(), participant_id, request, tournament="tournament")
    require_role(request, participant.tournament_id, ORGANIZER)
    return participant


class ParticipantDetail(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=ParticipantUpdateInput, responses=ParticipantDetailOutput)
    def patch(self, request, participant_id: int):
        data = valid(ParticipantUpdateInput, request)
        organized_participant(request, participant_id)
        participant = services.update_participant(participant_id=participant_id, **data)
        return Response(ParticipantDetailOutput(participant).data)

    @extend_schema(responses={204: None})
    def delete(self, request, participant_id: int):
        organized_participant(request, participant_id)
        services.remove_participant(participant_id=participant_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class DisqualifyParticipant(APIView):
    """The participant forfeits their current match and every later one (organizer)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses=ParticipantDetailOutput)
    def post(self, request, participant_id: int):
        organized_participant(request, participant_id)
        return Response(ParticipantDetailOutput(services.disqualify(participant_id=participant_id)).data)


class Roles(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=RoleOutput(many=True))
    def get(self, request, tournament_id: int):
        visible(Tournament.objects.all(), tournament_id, request)
        require_role(request, tournament_id, *OFFICIALS)
        return Response(RoleOutput(selectors.tournament_officials(tournament_id), many=True).data)

    @extend_schema(request=RoleInput, responses={201: RoleOutput})
    def post(self, request, tournament_id: int):
        data = valid(RoleInput, request)
        visible(Tournament.objects.all(), tournament_id, request)
        require_role(request, tournament_id, ORGANIZER)
        services.grant_role(tournament_id=tournament_id, **data)
        return Response(RoleOutput(data).data, status=status.HTTP_201_CREATED)


class RoleDetail(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        parameters=[OpenApiParameter("role", enum=["organizer", "referee"], required=False)],
        responses={204: None},
    )
    def delete(self, request, tournament_id: int, username: str):
        if "\x00" in username:
            raise serializers.ValidationError({"username": ["Not a valid username."]})
        visible(Tournament.objects.all(), tournament_id, request)
        require_role(request, tournament_id, ORGANIZER)
        role = request.query_params.get("role")
        if role is not None and role not in ("organizer", "referee"):
            raise serializers.ValidationError({"role": ["One of organizer, referee."]})
        services.revoke_role(tournament_id=tournament_id, username=username, role=role)
        return Response(status=status.HTTP_204_NO_CONTENT)

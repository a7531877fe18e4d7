from django.urls import path

from . import pages
from .api import matches, tournaments

api_urlpatterns = [
    path("tournaments/", tournaments.TournamentList.as_view(), name="api-tournaments"),
    path("tournaments/<int:tournament_id>/", tournaments.TournamentDetail.as_view(), name="api-tournament"),
    path("tournaments/<int:tournament_id>/bracket/", tournaments.GenerateBracket.as_view(), name="api-bracket"),
    path("tournaments/<int:tournament_id>/standings/", tournaments.Standings.as_view(), name="api-standings"),
    path(
        "tournaments/<int:tournament_id>/participants/",
        tournaments.Participants.as_view(),
        name="api-tournament-participants",
    ),
    path("participants/<int:participant_id>/", tournaments.ParticipantDetail.as_view(), name="api-participant"),
    path(
        "participants/<int:participant_id>/disqualify/",
        tournaments.DisqualifyParticipant.as_view(),
        name="api-participant-disqualify",
    ),
    path("tournaments/<int:tournament_id>/roles/", tournaments.Roles.as_view(), name="api-tournament-roles"),
    path(
        "tournaments/<int:tournament_id>/roles/<str:username>/",
        tournaments.RoleDetail.as_view(),
        name="api-tournament-role",
    ),
    path("matches/<int:match_id>/start/", matches.StartMatch.as_view(), name="api-match-start"),
    path("matches/<int:match_id>/score/", matches.PostScore.as_view(), name="api-match-score"),
    path("matches/<int:match_id>/score/adjust/", matches.AdjustScore.as_view(), name="api-match-score-adjust"),
    path("matches/<int:match_id>/complete/", matches.CompleteMatch.as_view(), name="api-match-complete"),
    path("matches/<int:match_id>/games/complete/", matches.CompleteGame.as_view(), name="api-match-game-complete"),
    path("matches/<int:match_id>/forfeit/", matches.ForfeitMatch.as_view(), name="api-match-forfeit"),
    path("matches/<int:match_id>/reopen/", matches.ReopenMatch.as_view(), name="api-match-reopen"),
    path("matches/<int:match_id>/disputes/", matches.OpenDispute.as_view(), name="api-match-disputes"),
    path("disputes/<int:dispute_id>/resolve/", matches.ResolveDispute.as_view(), name="api-dispute-resolve"),
]

page_urlpatterns = [
    path("", pages.index, name="index"),
    path("tournaments/<int:tournament_id>/", pages.live, name="live"),
    path("embed/tournaments/<int:tournament_id>/", pages.embed_tournament, name="embed-tournament"),
    path("embed/matches/<int:match_id>/", pages.embed_match, name="embed-match"),
]

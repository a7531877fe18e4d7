from django.urls import path

from . import api, pages

api_urlpatterns = [
    path("tournaments/<int:tournament_id>/", api.TournamentDetail.as_view(), name="api-tournament"),
    path("tournaments/<int:tournament_id>/bracket/", api.GenerateBracket.as_view(), name="api-bracket"),
    path("matches/<int:match_id>/start/", api.StartMatch.as_view(), name="api-match-start"),
    path("matches/<int:match_id>/score/", api.PostScore.as_view(), name="api-match-score"),
    path("matches/<int:match_id>/complete/", api.CompleteMatch.as_view(), name="api-match-complete"),
    path("matches/<int:match_id>/disputes/", api.OpenDispute.as_view(), name="api-match-disputes"),
    path("disputes/<int:dispute_id>/resolve/", api.ResolveDispute.as_view(), name="api-dispute-resolve"),
]

page_urlpatterns = [
    path("", pages.index, name="index"),
    path("tournaments/<int:tournament_id>/", pages.live, name="live"),
]

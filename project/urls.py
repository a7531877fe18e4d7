from django.contrib import admin
from django.http import JsonResponse
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from realtime import sse
from tournaments.urls import api_urlpatterns, page_urlpatterns


def health(request):
    return JsonResponse({"status": "ok"})


urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include(api_urlpatterns)),
    path("api/", include("webhooks.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("console/", include("tournaments.console_urls")),
    path("healthz", health, name="health"),
    path("sse/tournament/<int:tournament_id>/", sse.tournament_events, name="sse-tournament"),
    path("sse/match/<int:match_id>/", sse.match_events, name="sse-match"),
    path("", include(page_urlpatterns)),
]

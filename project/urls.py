from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from project import health, metrics
from realtime import sse
from tournaments.urls import api_urlpatterns, page_urlpatterns

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include(api_urlpatterns)),
    path("api/", include("webhooks.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("console/", include("tournaments.console_urls")),
    path("healthz", health.healthz, name="health"),
    path("readyz", health.readyz, name="ready"),
    path("metrics", metrics.metrics_view, name="metrics"),
    path("sse/tournament/<int:tournament_id>/", sse.tournament_events, name="sse-tournament"),
    path("sse/match/<int:match_id>/", sse.match_events, name="sse-match"),
    path("", include(page_urlpatterns)),
]

from django.urls import path

from . import api

urlpatterns = [
    path("tournaments/<int:tournament_id>/webhooks/", api.Webhooks.as_view(), name="api-webhooks"),
    path("webhooks/<int:webhook_id>/", api.WebhookDetail.as_view(), name="api-webhook"),
    path("webhooks/<int:webhook_id>/rotate-secret/", api.RotateSecret.as_view(), name="api-webhook-rotate"),
    path("webhooks/<int:webhook_id>/deliveries/", api.Deliveries.as_view(), name="api-webhook-deliveries"),
]

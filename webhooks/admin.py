from django.contrib import admin

from .models import Delivery, Webhook


@admin.register(Webhook)
class WebhookAdmin(admin.ModelAdmin):
    list_display = ("id", "tournament", "url", "enabled", "consecutive_failures", "created_at")
    list_filter = ("enabled",)
    readonly_fields = ("secret", "previous_secret", "secret_rotated_at", "consecutive_failures", "created_at")
    search_fields = ("url",)


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    """The delivery log: read-only (deliveries are sent by the webhooks queue)."""

    list_display = ("id", "webhook", "event_type", "state", "attempts", "last_status_code", "last_error", "created_at")
    list_filter = ("state", "event_type")
    readonly_fields = [field.name for field in Delivery._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

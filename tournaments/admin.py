"""Django admin for operators. It never changes state behind the services' back: states, scores,
winners, bracket slots and dispute outcomes are read-only here, and the actions call the services
(which publish to spectators)."""

from django.contrib import admin, messages

from . import services
from .errors import DomainError
from .models import Dispute, Match, Participant, Tournament, TournamentRole


class ParticipantInline(admin.TabularInline):
    """Shown, not edited: adding, reseeding or removing redraws the bracket (the API or the console)."""

    model = Participant
    extra = 0
    fields = readonly_fields = ["name", "seed", "user"]
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class RoleInline(admin.TabularInline):
    """Shown, not edited: a tournament always keeps one organizer (the API and console enforce it)."""

    model = TournamentRole
    extra = 0
    fields = readonly_fields = ["user", "role"]
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


def _run(modeladmin, request, queryset, action, label: str) -> None:
    done = 0
    for obj in queryset:
        try:
            action(obj)
            done += 1
        except DomainError as error:
            modeladmin.message_user(request, f"{obj}: {error.message}", messages.ERROR)
    if done:
        modeladmin.message_user(request, f"{label}: {done}", messages.SUCCESS)


@admin.register(Tournament)
class TournamentAdmin(admin.ModelAdmin):
    list_display = ["name", "game", "visibility", "status", "winner", "created_at"]
    list_filter = ["status", "visibility", "game"]
    search_fields = ["name", "game"]
    readonly_fields = ["format", "status", "winner", "completed_at"]
    inlines = [ParticipantInline, RoleInline]
    actions = ["generate_bracket"]

    @admin.action(description="Generate the bracket")
    def generate_bracket(self, request, queryset):
        _run(self, request, queryset, lambda t: services.generate_bracket(tournament_id=t.id), "Brackets generated")


@admin.register(Match)
class MatchAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "state",
        "participant1",
        "participant1_score",
        "participant2_score",
        "participant2",
        "winner",
    ]
    list_filter = ["state", "tournament"]
    readonly_fields = [
        "tournament", "round", "position", "participant1", "participant2", "participant1_score", "participant2_score",
        "state", "winner", "score_version", "version", "started_at", "completed_at",
    ]  # fmt: skip
    actions = ["start_matches", "complete_matches"]

    def has_add_permission(self, request) -> bool:
        return False  # matches come from the bracket

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # the bracket is drawn again through the services

    @admin.action(description="Start the selected matches")
    def start_matches(self, request, queryset):
        _run(self, request, queryset, lambda m: services.start_match(match_id=m.id), "Matches started")

    @admin.action(description="Complete the selected matches with their current score")
    def complete_matches(self, request, queryset):
        _run(
            self,
            request,
            queryset,
            lambda m: services.complete_match(
                match_id=m.id, participant1_score=m.participant1_score, participant2_score=m.participant2_score
            ),
            "Matches completed",
        )


@admin.register(Dispute)
class DisputeAdmin(admin.ModelAdmin):
    list_display = ["match", "status", "opened_by", "created_at", "resolved_by"]
    list_filter = ["status"]
    readonly_fields = ["match", "opened_by", "reason", "status", "resolution", "resolved_by", "resolved_at"]
    actions = ["keep_results"]

    def has_add_permission(self, request) -> bool:
        return False  # disputes are opened through the API or the console, which apply the rules

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # deleting an open one would leave its match disputed for good: resolve it

    @admin.action(description="Resolve: keep the match result as it is")
    def keep_results(self, request, queryset):
        _run(
            self,
            request,
            queryset,
            lambda d: services.resolve_dispute(
                dispute_id=d.id, resolved_by=request.user, resolution=f"Result kept by {request.user}."
            ),
            "Disputes resolved",
        )


@admin.register(Participant)
class ParticipantAdmin(admin.ModelAdmin):
    """Linking a participant to a user is the one change made here; the rest goes through the services."""

    list_display = ["name", "seed", "tournament", "user"]
    readonly_fields = ["tournament", "name", "seed"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(TournamentRole)
class TournamentRoleAdmin(admin.ModelAdmin):
    list_display = ["tournament", "user", "role"]

    # Roles are granted and revoked through the API or the console (services.grant_role/revoke_role):
    # they keep one organizer per tournament, and tell Redis, which checks who may post live scores.
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

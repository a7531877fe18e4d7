"""Django admin for organizers; actions go through the same services as the API."""

from django.contrib import admin, messages

from . import services
from .errors import DomainError
from .models import Dispute, Match, Participant, Tournament, TournamentRole


class ParticipantInline(admin.TabularInline):
    model = Participant
    extra = 0


class RoleInline(admin.TabularInline):
    model = TournamentRole
    extra = 0


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
    readonly_fields = ["score_version", "started_at", "completed_at"]
    actions = ["start_matches", "complete_matches"]

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
    readonly_fields = ["resolved_by", "resolved_at"]
    actions = ["keep_results"]

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


admin.site.register(Participant)
admin.site.register(TournamentRole)

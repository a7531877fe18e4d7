"""Tournament domain models. Rules live in services.py; the database enforces what is absolute."""

from django.conf import settings
from django.db import models
from django.db.models import Q

MAX_SCORE = 1_000_000


class Tournament(models.Model):
    class Format(models.TextChoices):
        SINGLE_ELIMINATION = "single_elimination", "Single elimination"

    class Visibility(models.TextChoices):
        PUBLIC = "public", "Public"
        PRIVATE = "private", "Private (members only)"

    class Status(models.TextChoices):
        REGISTRATION = "registration", "Registration"
        ONGOING = "ongoing", "Ongoing"
        COMPLETED = "completed", "Completed"

    name = models.CharField(max_length=200)
    game = models.CharField(max_length=100)
    format = models.CharField(max_length=32, choices=Format.choices, default=Format.SINGLE_ELIMINATION)
    visibility = models.CharField(max_length=16, choices=Visibility.choices, default=Visibility.PUBLIC)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.REGISTRATION)
    winner = models.ForeignKey("Participant", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="completed") | Q(winner__isnull=False),
                name="completed_tournament_has_winner",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_public(self) -> bool:
        return self.visibility == self.Visibility.PUBLIC


class Participant(models.Model):
    """A player or team registered in one tournament; `seed` 1 is the strongest."""

    tournament = models.ForeignKey(Tournament, on_delete=models.CASCADE, related_name="participants")
    name = models.CharField(max_length=100)
    seed = models.PositiveIntegerField()
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="entries"
    )

    class Meta:
        ordering = ["tournament", "seed"]
        constraints = [
            models.UniqueConstraint(fields=["tournament", "seed"], name="unique_seed_per_tournament"),
            models.UniqueConstraint(fields=["tournament", "name"], name="unique_name_per_tournament"),
            models.CheckConstraint(condition=Q(seed__gte=1), name="seed_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.name} (#{self.seed})"


class TournamentRole(models.Model):
    """Per-tournament powers: an organizer of one tournament is nobody special in another."""

    class Role(models.TextChoices):
        ORGANIZER = "organizer", "Organizer"
        REFEREE = "referee", "Referee"

    tournament = models.ForeignKey(Tournament, on_delete=models.CASCADE, related_name="roles")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tournament_roles")
    role = models.CharField(max_length=16, choices=Role.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tournament", "user", "role"], name="unique_role"),
        ]

    def __str__(self) -> str:
        return f"{self.user} is {self.role} of {self.tournament}"


class Match(models.Model):
    """One game of the bracket. Round 1 is the first round; the next match is (round+1, position//2)."""

    class State(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        LIVE = "live", "Live"
        COMPLETED = "completed", "Completed"
        DISPUTED = "disputed", "Disputed"

    tournament = models.ForeignKey(Tournament, on_delete=models.CASCADE, related_name="matches")
    round = models.PositiveSmallIntegerField()
    position = models.PositiveSmallIntegerField()
    participant1 = models.ForeignKey(Participant, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    participant2 = models.ForeignKey(Participant, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    participant1_score = models.PositiveIntegerField(default=0)
    participant2_score = models.PositiveIntegerField(default=0)
    # Incremented by every score write; realtime ignores a write older than one it already has.
    score_version = models.PositiveBigIntegerField(default=0)
    # Incremented by every change of state, participants or winner. Frames carry it, so a client
    # keeps the newest view of a match whatever order frames built in different transactions arrive.
    version = models.PositiveBigIntegerField(default=0)
    state = models.CharField(max_length=16, choices=State.choices, default=State.SCHEDULED)
    winner = models.ForeignKey(Participant, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["tournament", "round", "position"]
        verbose_name_plural = "matches"
        constraints = [
            models.UniqueConstraint(fields=["tournament", "round", "position"], name="unique_bracket_slot"),
            models.CheckConstraint(
                condition=Q(participant1_score__lte=MAX_SCORE) & Q(participant2_score__lte=MAX_SCORE),
                name="score_in_range",
            ),
            models.CheckConstraint(
                condition=~Q(state="completed") | Q(winner__isnull=False), name="completed_match_has_winner"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.tournament} R{self.round}M{self.position + 1}"

    @property
    def is_over(self) -> bool:
        return self.winner_id is not None


class Dispute(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        RESOLVED = "resolved", "Resolved"

    match = models.ForeignKey(Match, on_delete=models.CASCADE, related_name="disputes")
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField(max_length=2000)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    resolution = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # one open dispute per match: the match is "disputed" until it is resolved
            models.UniqueConstraint(fields=["match"], condition=Q(status="open"), name="one_open_dispute_per_match"),
        ]

    def __str__(self) -> str:
        return f"Dispute on {self.match}: {self.status}"

"""Tournament domain models. Rules live in services/; the database enforces what is absolute."""

from django.conf import settings
from django.db import models
from django.db.models import Q

MAX_SCORE = 1_000_000
ODD_BEST_OF = (1, 3, 5, 7, 9)


class Tournament(models.Model):
    class Format(models.TextChoices):
        SINGLE_ELIMINATION = "single_elimination", "Single elimination"
        DOUBLE_ELIMINATION = "double_elimination", "Double elimination"
        ROUND_ROBIN = "round_robin", "Round robin"

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
    # Games a side must win is best_of // 2 + 1 (odd, 1-9): every match but the final, and the final.
    best_of = models.PositiveSmallIntegerField(default=1)
    final_best_of = models.PositiveSmallIntegerField(default=1)
    third_place_match = models.BooleanField(default=False)
    # Double elimination (or its playoffs): the grand final is played again if the lower bracket's winner won it.
    grand_final_reset = models.BooleanField(default=False)
    # Round robin: how many groups, and the playoffs their top `advance_per_group` play ("" for none).
    groups = models.PositiveSmallIntegerField(default=1)
    playoff_format = models.CharField(max_length=32, blank=True, default="")
    advance_per_group = models.PositiveSmallIntegerField(null=True, blank=True)
    winner = models.ForeignKey("Participant", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    third_place = models.ForeignKey("Participant", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="completed") | Q(winner__isnull=False),
                name="completed_tournament_has_winner",
            ),
            models.CheckConstraint(
                condition=Q(best_of__in=ODD_BEST_OF) & Q(final_best_of__in=ODD_BEST_OF), name="best_of_odd_1_to_9"
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
    # Disqualified participants forfeit their current and future matches (services/results.py: `disqualify`).
    disqualified_at = models.DateTimeField(null=True, blank=True)

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
    """One match of the bracket: a best-of-N series of games (one game when best_of is 1).

    Its winner goes to side `winner_to_slot` of `winner_to`, its loser (a semi-final's, to the
    third-place match) to `loser_to`; `round` and `position` are where it is drawn. The live score
    (participant1_score, participant2_score) is the current game's: the last game's once completed.
    """

    class State(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        LIVE = "live", "Live"
        COMPLETED = "completed", "Completed"
        DISPUTED = "disputed", "Disputed"
        CANCELLED = "cancelled", "Cancelled (nobody left to play it)"

    class Bracket(models.TextChoices):
        MAIN = "main", "Main bracket"  # double elimination's upper bracket
        THIRD_PLACE = "third_place", "Third-place match"
        LOWER = "lower", "Lower bracket"
        GRAND_FINAL = "grand_final", "Grand final"
        GROUP = "group", "Group stage"

    tournament = models.ForeignKey(Tournament, on_delete=models.CASCADE, related_name="matches")
    bracket = models.CharField(max_length=16, choices=Bracket.choices, default=Bracket.MAIN)
    group = models.PositiveSmallIntegerField(default=0)  # a group match's group, from 1; 0 for the others
    round = models.PositiveSmallIntegerField()
    position = models.PositiveSmallIntegerField()
    best_of = models.PositiveSmallIntegerField(default=1)
    winner_to = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    winner_to_slot = models.PositiveSmallIntegerField(null=True, blank=True)
    loser_to = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    loser_to_slot = models.PositiveSmallIntegerField(null=True, blank=True)
    # A bracket reset: played only if the lower bracket's winner won `reset_of` (the grand final).
    reset_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # Playoffs after groups: the playoff seeds that fill these sides once the group stage is over.
    seed1 = models.PositiveSmallIntegerField(null=True, blank=True)
    seed2 = models.PositiveSmallIntegerField(null=True, blank=True)
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
    # The series: the game being played (the last one once completed) and each side's wins.
    game = models.PositiveSmallIntegerField(default=1)
    participant1_wins = models.PositiveSmallIntegerField(default=0)
    participant2_wins = models.PositiveSmallIntegerField(default=0)
    winner = models.ForeignKey(Participant, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    # A walkover: completed without being played out. `forfeited_by` None: the opponent never came.
    forfeit = models.BooleanField(default=False)
    forfeited_by = models.ForeignKey(Participant, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["tournament", "bracket", "group", "round", "position"]
        verbose_name_plural = "matches"
        constraints = [
            models.UniqueConstraint(
                fields=["tournament", "bracket", "group", "round", "position"], name="unique_bracket_place"
            ),
            models.CheckConstraint(condition=Q(best_of__in=ODD_BEST_OF), name="match_best_of_odd_1_to_9"),
            models.CheckConstraint(
                condition=Q(participant1_score__lte=MAX_SCORE) & Q(participant2_score__lte=MAX_SCORE),
                name="score_in_range",
            ),
            models.CheckConstraint(
                condition=~Q(state="completed") | Q(winner__isnull=False), name="completed_match_has_winner"
            ),
        ]

    def __str__(self) -> str:
        if self.bracket == self.Bracket.THIRD_PLACE:
            return f"{self.tournament} third place"
        if self.bracket == self.Bracket.GROUP:
            return f"{self.tournament} G{self.group}R{self.round}M{self.position + 1}"
        if self.bracket == self.Bracket.GRAND_FINAL:
            return f"{self.tournament} grand final" + (" reset" if self.reset_of_id else "")
        if self.bracket == self.Bracket.LOWER:
            return f"{self.tournament} lower R{self.round}M{self.position + 1}"
        return f"{self.tournament} R{self.round}M{self.position + 1}"

    @property
    def is_over(self) -> bool:
        return self.winner_id is not None

    @property
    def loser_id(self) -> int | None:
        if self.winner_id is None:
            return None
        return self.participant2_id if self.winner_id == self.participant1_id else self.participant1_id

    @property
    def sides(self) -> list[int]:
        """The participants known so far."""
        return [p for p in (self.participant1_id, self.participant2_id) if p is not None]

    @property
    def series(self) -> list[int]:
        return [self.participant1_wins, self.participant2_wins]


class Game(models.Model):
    """A completed game of a match's series (the live game is the match's own score)."""

    match = models.ForeignKey(Match, on_delete=models.CASCADE, related_name="games")
    number = models.PositiveSmallIntegerField()
    participant1_score = models.PositiveIntegerField()
    participant2_score = models.PositiveIntegerField()
    winner = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="+")
    completed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["match", "number"]
        constraints = [
            models.UniqueConstraint(fields=["match", "number"], name="unique_game_number"),
            models.CheckConstraint(
                condition=Q(participant1_score__lte=MAX_SCORE) & Q(participant2_score__lte=MAX_SCORE),
                name="game_score_in_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.match} game {self.number}"


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

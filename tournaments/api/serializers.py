"""What the API reads (input serializers: strict JSON types) and what it answers (output
serializers: they also make the OpenAPI schema)."""

from __future__ import annotations

from rest_framework import serializers

from ..groups import DOUBLE_ELIMINATION, MAX_GROUP_SIZE, SINGLE_ELIMINATION, Playoffs
from ..models import MAX_SCORE, Tournament, TournamentRole


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer: refuses "5", 5.0 and true that IntegerField would coerce."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictCharField(serializers.CharField):
    """A JSON string: refuses 5 and true that CharField would turn into "5" and "True"."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


def _text_field() -> StrictCharField:
    return StrictCharField(max_length=2000, allow_blank=False, trim_whitespace=True)


def _score_field(**kwargs) -> StrictIntegerField:
    return StrictIntegerField(min_value=0, max_value=MAX_SCORE, **kwargs)


def _game_field() -> StrictIntegerField:
    return StrictIntegerField(
        min_value=1, max_value=9, required=False,
        help_text="The game this is for: refused (409) unless it is the game being played. Makes retries safe.",
    )  # fmt: skip


class ScoreInput(serializers.Serializer):
    participant1_score = _score_field()
    participant2_score = _score_field()


class LiveScoreInput(ScoreInput):
    """The current game's live score (a series has several games)."""

    game = _game_field()


class GameResultInput(ScoreInput):
    """The final score of the game being played."""

    game = _game_field()


class ScoreAdjustmentInput(serializers.Serializer):
    """What to add to each side's live score (at least one; negative takes away, never below 0)."""

    participant1 = StrictIntegerField(min_value=-100, max_value=100, required=False)
    participant2 = StrictIntegerField(min_value=-100, max_value=100, required=False)
    game = _game_field()

    def validate(self, attrs):
        if not attrs.keys() - {"game"}:
            raise serializers.ValidationError("Say what to add to participant1 and/or participant2.")
        return attrs


class ForfeitInput(serializers.Serializer):
    participant_id = StrictIntegerField(min_value=1, help_text="Who forfeits: one of the match's participants.")


class DisputeInput(serializers.Serializer):
    reason = _text_field()


class ResolutionInput(serializers.Serializer):
    """Keep the result (no scores) or correct it (both scores)."""

    resolution = _text_field()
    participant1_score = _score_field(required=False)
    participant2_score = _score_field(required=False)


def valid(serializer_class, request, *, many_allowed: bool = False):
    """The validated body: an object (or, with `many_allowed`, a list of them)."""
    many = many_allowed and isinstance(request.data, list)
    if not many and not isinstance(request.data, dict):
        raise serializers.ValidationError({"non_field_errors": ["Expected a JSON object."]})
    serializer = serializer_class(data=request.data, many=many)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class MatchStateOutput(serializers.Serializer):
    match_id = serializers.IntegerField(source="id")
    state = serializers.CharField()


class ScoreOutput(serializers.Serializer):
    match_id = serializers.IntegerField()
    participant1_score = serializers.IntegerField()
    participant2_score = serializers.IntegerField()
    score_version = serializers.IntegerField(help_text="Score writes so far: the newer of two scores has the higher.")


class ResultOutput(ScoreOutput):
    match_id = serializers.IntegerField(source="id")
    state = serializers.CharField()
    winner_id = serializers.IntegerField(allow_null=True)
    game = serializers.IntegerField(help_text="The game being played (the last one once completed).")
    series = serializers.ListField(child=serializers.IntegerField(), help_text="[wins of participant 1, of 2]")
    forfeit = serializers.BooleanField()


class GameOutput(serializers.Serializer):
    number = serializers.IntegerField()
    participant1_score = serializers.IntegerField()
    participant2_score = serializers.IntegerField()
    winner_id = serializers.IntegerField(allow_null=True)
    state = serializers.CharField(help_text="completed, or live for the game being played")


class GameCompletedOutput(ResultOutput):
    """The match after one of its games ended: `completed_game` is that game."""

    completed_game = GameOutput()


class DisputeOpenedOutput(serializers.Serializer):
    dispute_id = serializers.IntegerField(source="id")
    match_id = serializers.IntegerField()


class DisputeResolvedOutput(serializers.Serializer):
    dispute_id = serializers.IntegerField(source="id")
    match_id = serializers.IntegerField()
    state = serializers.CharField(source="match.state")
    participant1_score = serializers.IntegerField(source="match.participant1_score")
    participant2_score = serializers.IntegerField(source="match.participant2_score")
    winner_id = serializers.IntegerField(source="match.winner_id", allow_null=True)


class PlayoffsOutput(serializers.Serializer):
    format = serializers.CharField(help_text="single_elimination or double_elimination")
    advance_per_group = serializers.IntegerField()


class StandingOutput(serializers.Serializer):
    participant_id = serializers.IntegerField()
    played = serializers.IntegerField()
    wins = serializers.IntegerField()
    losses = serializers.IntegerField()
    games_won = serializers.IntegerField()
    games_lost = serializers.IntegerField()
    game_difference = serializers.IntegerField()


class GroupStandingsOutput(serializers.Serializer):
    group = serializers.IntegerField()
    standings = StandingOutput(many=True, help_text="First place first: wins, head-to-head, game difference, seed.")


class StandingsOutput(serializers.Serializer):
    groups = GroupStandingsOutput(many=True, help_text="Empty for a format without groups.")


class TournamentOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    game = serializers.CharField()
    format = serializers.CharField()
    visibility = serializers.CharField()
    status = serializers.CharField()
    winner_id = serializers.IntegerField(allow_null=True)
    best_of = serializers.IntegerField()
    final_best_of = serializers.IntegerField()
    third_place_match = serializers.BooleanField()
    third_place_id = serializers.IntegerField(allow_null=True)
    grand_final_reset = serializers.BooleanField()
    groups = serializers.IntegerField(help_text="A round robin's groups (1 for the other formats).")
    playoffs = PlayoffsOutput(allow_null=True, help_text="After a round robin's groups; null without.")
    sequence = serializers.IntegerField(allow_null=True, help_text="Null while the live-score service is down.")
    epoch = serializers.CharField(allow_null=True, help_text="Null while the live-score service is down.")


class ParticipantOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    seed = serializers.IntegerField()
    disqualified = serializers.BooleanField()


class DisputeSummaryOutput(serializers.Serializer):
    id = serializers.IntegerField()
    reason = serializers.CharField()


class MatchOutput(serializers.Serializer):
    id = serializers.IntegerField()
    bracket = serializers.CharField(help_text="main (the upper bracket), lower, grand_final, third_place or group")
    group = serializers.IntegerField(help_text="A group match's group, from 1; 0 for the others.")
    round = serializers.IntegerField()
    position = serializers.IntegerField()
    best_of = serializers.IntegerField()
    state = serializers.CharField(help_text="scheduled, live, disputed, completed, or cancelled (nobody to play it)")
    participant1_id = serializers.IntegerField(allow_null=True)
    participant2_id = serializers.IntegerField(allow_null=True)
    participant1_score = serializers.IntegerField()
    participant2_score = serializers.IntegerField()
    winner_id = serializers.IntegerField(allow_null=True)
    score_version = serializers.IntegerField()
    game = serializers.IntegerField(help_text="The game being played (the last one once completed).")
    series = serializers.ListField(child=serializers.IntegerField(), help_text="[wins of participant 1, of 2]")
    games = GameOutput(many=True)
    forfeit = serializers.BooleanField(help_text="A walkover: completed without being played out.")
    forfeited_by_id = serializers.IntegerField(allow_null=True, help_text="Null in a walkover: nobody came.")
    reset_of_id = serializers.IntegerField(
        allow_null=True, help_text="A bracket reset: played only if the lower bracket's winner won this grand final."
    )
    version = serializers.IntegerField(help_text="Changes of state, participants or winner (docs/protocol.md).")
    dispute = DisputeSummaryOutput(allow_null=True, help_text="The open dispute, if any.")
    sequence = serializers.IntegerField(allow_null=True, help_text="Null while the live-score service is down.")


class ViewersOutput(serializers.Serializer):
    tournament = serializers.IntegerField()
    matches = serializers.DictField(child=serializers.IntegerField(), help_text="match id -> connections")


class TournamentStateOutput(serializers.Serializer):
    """The same document as the WebSocket snapshot (docs/protocol.md), with the database's scores."""

    tournament = TournamentOutput()
    participants = ParticipantOutput(many=True)
    standings = GroupStandingsOutput(many=True, help_text="A round robin's group tables; empty for other formats.")
    matches = MatchOutput(many=True)
    viewers = ViewersOutput(allow_null=True, help_text="Null while the live-score service is down.")


# --- tournaments, participants, roles -------------------------------------------------------------


class StrictBooleanField(serializers.BooleanField):
    """A JSON boolean: refuses "true", 1 and "yes" that BooleanField would coerce."""

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


def _name_field(max_length: int, **kwargs) -> StrictCharField:
    return StrictCharField(max_length=max_length, allow_blank=False, trim_whitespace=True, **kwargs)


class PlayoffsInput(serializers.Serializer):
    format = serializers.ChoiceField([SINGLE_ELIMINATION, DOUBLE_ELIMINATION])
    advance_per_group = StrictIntegerField(min_value=1, max_value=MAX_GROUP_SIZE)


class TournamentCreateInput(serializers.Serializer):
    name = _name_field(200)
    game = _name_field(100)
    visibility = serializers.ChoiceField(Tournament.Visibility.choices, required=False)
    format = serializers.ChoiceField(Tournament.Format.choices, required=False)
    best_of = StrictIntegerField(min_value=1, max_value=9, required=False)
    final_best_of = StrictIntegerField(min_value=1, max_value=9, required=False)
    third_place_match = StrictBooleanField(required=False)
    grand_final_reset = StrictBooleanField(required=False)
    groups = StrictIntegerField(min_value=1, max_value=128, required=False)
    playoffs = PlayoffsInput(required=False)
    participants = serializers.ListField(child=_name_field(100), max_length=256, required=False)

    def validate_playoffs(self, value: dict) -> Playoffs:
        return Playoffs(value["format"], value["advance_per_group"])


class TournamentUpdateInput(serializers.Serializer):
    name = _name_field(200, required=False)
    game = _name_field(100, required=False)
    visibility = serializers.ChoiceField(Tournament.Visibility.choices, required=False)


class ParticipantInput(serializers.Serializer):
    name = _name_field(100)
    seed = StrictIntegerField(min_value=1, max_value=10_000, required=False)
    username = StrictCharField(max_length=150, required=False)


class ParticipantUpdateInput(serializers.Serializer):
    name = _name_field(100, required=False)
    seed = StrictIntegerField(min_value=1, max_value=10_000, required=False)
    username = StrictCharField(max_length=150, required=False, allow_null=True)


class RoleInput(serializers.Serializer):
    username = StrictCharField(max_length=150)
    role = serializers.ChoiceField(TournamentRole.Role.choices)


class TournamentSummaryOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    game = serializers.CharField()
    format = serializers.CharField()
    visibility = serializers.CharField()
    status = serializers.CharField()
    winner_id = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()
    my_roles = serializers.ListField(child=serializers.CharField(), help_text="organizer, referee, participant")


class ParticipantDetailOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    seed = serializers.IntegerField()
    disqualified = serializers.SerializerMethodField()
    username = serializers.CharField(source="user.username", allow_null=True, default=None)

    def get_disqualified(self, participant) -> bool:
        return participant.disqualified_at is not None


class ParticipantsCreatedOutput(serializers.Serializer):
    participants = ParticipantDetailOutput(many=True)


class RoleOutput(serializers.Serializer):
    username = serializers.CharField()
    role = serializers.CharField()

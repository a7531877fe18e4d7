"""The envelope and catalogue (pure logic)."""

import json

import pytest

from realtime.events import Event, template, validate


def test_template_renders_the_envelope_with_the_sequence_and_the_score_redis_assigned():
    frame = template(Event.SCORE_UPDATED, {"match_id": 3, "tournament_id": 1}).render(42, (19, 0, 7, 1))
    assert json.loads(frame) == {
        "type": "score_updated",
        "data": {
            "sequence": 42,
            "match_id": 3,
            "tournament_id": 1,
            "participant1_score": 19,
            "participant2_score": 0,
            "score_version": 7,
            "game": 1,
        },
    }
    assert validate(frame)["data"]["sequence"] == 42


def test_template_keeps_unicode_and_quotes_intact():
    data = {"match_id": 1, "tournament_id": 2, "version": 1, "dispute_id": 3, "reason": 'Lag "spike" — 日本 🎮'}
    parsed = json.loads(template(Event.DISPUTE_CREATED, data).render(7))
    assert parsed["data"]["reason"] == data["reason"]


def test_template_refuses_an_event_missing_a_contract_field():
    with pytest.raises(ValueError, match="winner_id"):
        template(Event.MATCH_COMPLETED, {"match_id": 1, "tournament_id": 1, "version": 2})


def test_sequence_is_never_supplied_by_the_caller():
    with pytest.raises(ValueError, match="sequence"):
        template(Event.BRACKET_UPDATED, {"tournament_id": 1, "matches": [], "sequence": 3})


def test_scores_of_scored_events_are_assigned_by_redis_not_the_caller():
    with pytest.raises(ValueError, match="score_version"):
        template(Event.SCORE_UPDATED, {"match_id": 1, "tournament_id": 1, "score_version": 3})
    assert template(
        Event.MATCH_COMPLETED,
        {
            "match_id": 1,
            "tournament_id": 1,
            "version": 2,
            "winner_id": 4,
            "series": [1, 0],
            "forfeit": False,
            "forfeited_by_id": None,
        },
    ).scored
    assert not template(Event.MATCH_STARTED, {
        "match_id": 1, "tournament_id": 1, "version": 1, "participant1_id": 1, "participant2_id": 2,
    }).scored  # fmt: skip


def test_validate_rejects_frames_outside_the_contract():
    with pytest.raises(ValueError):
        validate('{"type": "score_updated", "data": {"match_id": 1}}')
    with pytest.raises(ValueError):
        validate('{"type": "no_such_event", "data": {}}')

"""The tournament engine through its services: disputes, corrections, the bracket advancing."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from tests.harness import factories
from tournaments import errors, services
from tournaments.models import Dispute, Match, Tournament

pytestmark = pytest.mark.django_db(transaction=True)  # realtime state follows commits


@pytest.fixture
def four_players(organizer):
    return factories.tournament(organizer, 4, live=0)


def play(match: Match, p1: int, p2: int) -> Match:
    services.start_match(match_id=match.id)
    return services.complete_match(match_id=match.id, participant1_score=p1, participant2_score=p2)


def correct(dispute_id: int, organizer, resolution: str, scores: tuple[int, int]):
    """Resolve a dispute by correcting the result."""
    participant1_score, participant2_score = scores
    return services.resolve_dispute(
        dispute_id=dispute_id,
        resolved_by=organizer,
        resolution=resolution,
        participant1_score=participant1_score,
        participant2_score=participant2_score,
    )


def slot(tournament, round_number: int, position: int) -> Match:
    return Match.objects.get(tournament=tournament, round=round_number, position=position)


def test_winners_advance_and_the_final_completes_the_tournament(four_players):
    semi1, semi2 = slot(four_players, 1, 0), slot(four_players, 1, 1)
    play(semi1, 2, 1)
    play(semi2, 0, 3)
    final = slot(four_players, 2, 0)
    assert (final.participant1_id, final.participant2_id) == (semi1.participant1_id, semi2.participant2_id)
    play(final, 1, 4)
    tournament = Tournament.objects.get(pk=four_players.id)
    assert tournament.status == "completed"
    assert tournament.winner_id == semi2.participant2_id


def test_a_dispute_kept_returns_the_match_to_its_state(four_players, organizer):
    match = slot(four_players, 1, 0)
    services.start_match(match_id=match.id)
    dispute = services.open_dispute(match_id=match.id, opened_by=organizer, reason="lag")
    assert Match.objects.get(pk=match.id).state == "disputed"
    with pytest.raises(errors.Conflict):
        services.update_score(match_id=match.id, participant1_score=1, participant2_score=0)  # frozen while disputed
    with pytest.raises(errors.Conflict):
        services.open_dispute(match_id=match.id, opened_by=organizer, reason="again")
    services.resolve_dispute(dispute_id=dispute.id, resolved_by=organizer, resolution="replay checked, no lag")
    assert Match.objects.get(pk=match.id).state == "live"
    with pytest.raises(errors.Conflict):
        services.resolve_dispute(dispute_id=dispute.id, resolved_by=organizer, resolution="twice")


def test_a_correction_changes_the_winner_in_the_next_match(four_players, organizer):
    semi1 = play(slot(four_players, 1, 0), 3, 1)
    dispute = services.open_dispute(match_id=semi1.id, opened_by=organizer, reason="wrong score entered")
    correct(dispute.id, organizer, "corrected from the replay", (1, 3))
    semi1 = Match.objects.get(pk=semi1.id)
    assert (semi1.state, semi1.winner_id) == ("completed", semi1.participant2_id)
    assert slot(four_players, 2, 0).participant1_id == semi1.participant2_id


def test_a_correction_is_refused_once_the_next_match_started(four_players, organizer):
    semi1 = play(slot(four_players, 1, 0), 3, 1)
    play(slot(four_players, 1, 1), 3, 1)
    services.start_match(match_id=slot(four_players, 2, 0).id)
    dispute = services.open_dispute(match_id=semi1.id, opened_by=organizer, reason="wrong score")
    with pytest.raises(errors.Conflict, match="next match has already started"):
        correct(dispute.id, organizer, "corrected", (1, 3))
    # nothing changed; keeping the result still works
    assert Match.objects.get(pk=semi1.id).winner_id == semi1.participant1_id
    assert Dispute.objects.get(pk=dispute.id).status == "open"
    services.resolve_dispute(dispute_id=dispute.id, resolved_by=organizer, resolution="kept")
    assert Match.objects.get(pk=semi1.id).state == "completed"


def test_correcting_the_final_changes_the_champion(four_players, organizer):
    play(slot(four_players, 1, 0), 3, 1)
    play(slot(four_players, 1, 1), 3, 1)
    final = play(slot(four_players, 2, 0), 2, 1)
    dispute = services.open_dispute(match_id=final.id, opened_by=organizer, reason="last goal was offside")
    correct(dispute.id, organizer, "goal removed", (1, 2))
    assert Tournament.objects.get(pk=four_players.id).winner_id == final.participant2_id


def test_referees_and_organizers_resolve_over_http_and_nobody_else(four_players, organizer):
    match = slot(four_players, 1, 0)
    services.start_match(match_id=match.id)
    referee = get_user_model().objects.create_user(username="ref")
    stranger = get_user_model().objects.create_user(username="stranger")
    four_players.roles.create(user=referee, role="referee")
    dispute = services.open_dispute(match_id=match.id, opened_by=referee, reason="lag")
    as_referee, as_organizer, as_stranger = APIClient(), APIClient(), APIClient()
    as_referee.force_authenticate(referee)
    as_organizer.force_authenticate(organizer)
    as_stranger.force_authenticate(stranger)
    url = f"/api/disputes/{dispute.id}/resolve/"
    assert as_stranger.post(url, {"resolution": "x"}, format="json").status_code == 403
    assert as_referee.post(url, {"resolution": "lag checked"}, format="json").status_code == 200
    dispute = services.open_dispute(match_id=match.id, opened_by=referee, reason="lag again")
    url = f"/api/disputes/{dispute.id}/resolve/"
    assert as_organizer.post(url, {"resolution": "x", "participant1_score": 1}, format="json").status_code == 400
    assert as_organizer.post("/api/disputes/99999/resolve/", {"resolution": "x"}, format="json").status_code == 404
    response = as_organizer.post(
        url, {"resolution": "fine", "participant1_score": 2, "participant2_score": 0}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["state"] == "live" and response.json()["participant1_score"] == 2
    assert as_organizer.post(url, {"resolution": "again"}, format="json").status_code == 409


def test_regenerating_the_bracket_is_refused_once_a_match_started(four_players):
    services.start_match(match_id=slot(four_players, 1, 0).id)
    with pytest.raises(errors.Conflict):
        services.generate_bracket(tournament_id=four_players.id)


@pytest.mark.parametrize("count", [1, 257])
def test_brackets_need_two_to_256_participants(organizer, count):
    tournament = factories.tournament(organizer, count, bracket=False)
    with pytest.raises(errors.DomainError, match="2 to 256"):
        services.generate_bracket(tournament_id=tournament.id)

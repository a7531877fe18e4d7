"""Series, forfeits, disqualifications, third place and reopening, through the services and the API
(real Redis and database): what spectators are sent, in which order, and what the bracket becomes."""

from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient

from realtime.store import history
from realtime.tasks import flush_pending_batches
from tests.harness import factories
from tests.harness.reference_client import ReferenceClient, as_shown
from tournaments import errors, selectors, services
from tournaments.models import Match, Tournament

from .test_snapshot_consistency import snapshot_of

pytestmark = pytest.mark.django_db(transaction=True)


def make(organizer, players: int = 4, **options) -> Tournament:
    created = services.create_tournament(
        name="Series Cup", game="Valorant", organizer=organizer,
        participant_names=[f"P{seed}" for seed in range(1, players + 1)], **options,
    )  # fmt: skip
    services.generate_bracket(tournament_id=created.id)
    return Tournament.objects.get(pk=created.id)


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def frames(tournament_id: int, match_id: int | None = None) -> list[dict]:
    flush_pending_batches(0)
    _, entries = history.history(tournament_id, selectors.match_ids(tournament_id))
    parsed = [json.loads(entry.frame) for entry in entries]
    return [frame for frame in parsed if match_id is None or frame["data"].get("match_id") == match_id]


def match_at(tournament: Tournament, round_number: int, position: int, bracket: str = "main") -> Match:
    return Match.objects.get(tournament=tournament, bracket=bracket, round=round_number, position=position)


def test_a_best_of_three_plays_game_by_game_and_completes_when_a_side_has_two_wins(organizer):
    tournament = make(organizer, best_of=3, final_best_of=5)
    semi = match_at(tournament, 1, 0)
    assert (semi.best_of, match_at(tournament, 2, 0).best_of) == (3, 5)
    client = api(organizer)
    assert client.post(f"/api/matches/{semi.id}/start/").status_code == 200
    assert (
        client.post(
            f"/api/matches/{semi.id}/complete/", {"participant1_score": 13, "participant2_score": 9}, format="json"
        ).status_code
        == 409
    )  # fmt: skip  (a series ends game by game)
    scored = client.post(f"/api/matches/{semi.id}/score/", {"participant1_score": 12, "participant2_score": 9},
                         format="json")  # fmt: skip
    assert scored.status_code == 202
    first = client.post(f"/api/matches/{semi.id}/games/complete/",
                        {"participant1_score": 13, "participant2_score": 9, "game": 1}, format="json")  # fmt: skip
    assert first.status_code == 200, first.content
    assert first.json()["series"] == [1, 0] and first.json()["state"] == "live" and first.json()["game"] == 2
    # A retry of game 1's completion is refused instead of ending game 2; so is a late score for game 1.
    retry = client.post(f"/api/matches/{semi.id}/games/complete/",
                        {"participant1_score": 13, "participant2_score": 9, "game": 1}, format="json")  # fmt: skip
    assert retry.status_code == 409 and "game" in retry.json()["error"]["details"]
    late = client.post(f"/api/matches/{semi.id}/score/",
                       {"participant1_score": 13, "participant2_score": 10, "game": 1}, format="json")  # fmt: skip
    assert late.status_code == 409
    services.update_score(match_id=semi.id, participant1_score=4, participant2_score=7)
    tie = client.post(f"/api/matches/{semi.id}/games/complete/", {"participant1_score": 5, "participant2_score": 5},
                      format="json")  # fmt: skip
    assert tie.status_code == 400
    services.complete_game(match_id=semi.id, participant1_score=8, participant2_score=13)
    services.complete_game(match_id=semi.id, participant1_score=13, participant2_score=11)
    semi.refresh_from_db()
    assert (semi.state, semi.series, semi.winner_id) == ("completed", [2, 1], semi.participant1_id)
    assert match_at(tournament, 2, 0).participant1_id == semi.participant1_id

    sent = frames(tournament.id, semi.id)
    kinds = [(frame["type"], frame["data"].get("game")) for frame in sent]
    assert kinds == [
        ("match_started", None), ("score_updated", 1), ("game_completed", 1), ("score_updated", 2),
        ("game_completed", 2), ("game_completed", 3), ("match_completed", 3),
    ]  # fmt: skip
    completed_games = [frame["data"] for frame in sent if frame["type"] == "game_completed"]
    assert [(g["participant1_score"], g["participant2_score"], g["series"]) for g in completed_games] == [
        (13, 9, [1, 0]), (8, 13, [1, 1]), (13, 11, [2, 1]),
    ]  # fmt: skip
    assert [frame["data"]["sequence"] for frame in sent] == list(range(1, len(sent) + 1))
    document = client.get(f"/api/tournaments/{tournament.id}/").json()
    games = next(m for m in document["matches"] if m["id"] == semi.id)["games"]
    assert [(g["number"], g["participant1_score"], g["participant2_score"]) for g in games] == [
        (1, 13, 9), (2, 8, 13), (3, 13, 11),
    ]  # fmt: skip


def test_a_snapshot_plus_the_frames_after_it_equals_a_fresh_snapshot_through_series_and_reopening(organizer):
    tournament = make(organizer, best_of=3, third_place_match=True)
    client = ReferenceClient(snapshot_of(tournament.id))
    semi1, semi2 = match_at(tournament, 1, 0), match_at(tournament, 1, 1)
    for semi in (semi1, semi2):
        services.start_match(match_id=semi.id)
        services.update_score(match_id=semi.id, participant1_score=3, participant2_score=1)
        services.complete_game(match_id=semi.id, participant1_score=13, participant2_score=2)
        services.complete_game(match_id=semi.id, participant1_score=13, participant2_score=5)
    services.reopen_match(match_id=semi2.id)
    services.update_score(match_id=semi2.id, participant1_score=9, participant2_score=13)
    services.complete_game(match_id=semi2.id, participant1_score=9, participant2_score=13)
    services.complete_game(match_id=semi2.id, participant1_score=2, participant2_score=13)
    for frame in frames(tournament.id):
        client.receive(frame)
    assert client.shows()["matches"] == as_shown(snapshot_of(tournament.id))["matches"]


def test_the_semi_final_losers_play_for_third_place_and_the_tournament_names_it(organizer):
    tournament = make(organizer, third_place_match=True)
    semi1, semi2 = match_at(tournament, 1, 0), match_at(tournament, 1, 1)
    for semi, score in ((semi1, (2, 1)), (semi2, (0, 3))):
        services.start_match(match_id=semi.id)
        services.complete_match(match_id=semi.id, participant1_score=score[0], participant2_score=score[1])
    third = Match.objects.get(tournament=tournament, bracket="third_place")
    assert (third.participant1_id, third.participant2_id) == (semi1.participant2_id, semi2.participant1_id)
    final = match_at(tournament, 2, 0)
    for match in (final, third):
        services.start_match(match_id=match.id)
        services.complete_match(match_id=match.id, participant1_score=1, participant2_score=0)
    tournament.refresh_from_db()
    assert (tournament.status, tournament.winner_id, tournament.third_place_id) == (
        "completed", semi1.participant1_id, semi1.participant2_id,
    )  # fmt: skip
    completed = [frame for frame in frames(tournament.id) if frame["type"] == "tournament_completed"]
    assert [frame["data"]["third_place_id"] for frame in completed] == [semi1.participant2_id]


def test_a_forfeit_is_a_walkover_and_a_disqualified_participant_forfeits_what_is_left(organizer):
    tournament = make(organizer, 8)
    first, second = match_at(tournament, 1, 0), match_at(tournament, 1, 1)
    services.start_match(match_id=first.id)
    services.update_score(match_id=first.id, participant1_score=5, participant2_score=2)
    with pytest.raises(errors.Invalid, match="does not play"):
        services.forfeit_match(match_id=first.id, participant_id=second.participant1_id)
    services.forfeit_match(match_id=first.id, participant_id=first.participant2_id)
    first.refresh_from_db()
    assert (first.state, first.forfeit, first.winner_id) == ("completed", True, first.participant1_id)
    assert (first.participant1_score, first.participant2_score) == (5, 2)  # the live score stands
    completed = [frame for frame in frames(tournament.id, first.id) if frame["type"] == "match_completed"]
    assert completed[0]["data"]["forfeit"] is True
    assert completed[0]["data"]["forfeited_by_id"] == first.participant2_id

    # The winner of the first match is disqualified while waiting for their next opponent: the
    # opponent gets a walkover the moment they are known.
    services.disqualify(participant_id=first.participant1_id)
    services.start_match(match_id=second.id)
    services.complete_match(match_id=second.id, participant1_score=3, participant2_score=1)
    semi = match_at(tournament, 2, 0)
    assert (semi.state, semi.forfeit, semi.winner_id) == ("completed", True, second.participant1_id)
    assert semi.forfeited_by_id == first.participant1_id
    with pytest.raises(errors.Conflict, match="disqualified"):
        services.reopen_match(match_id=semi.id)


def test_reopening_takes_the_winner_back_out_and_is_refused_once_the_next_match_started(organizer):
    tournament = make(organizer)
    semi1, semi2 = match_at(tournament, 1, 0), match_at(tournament, 1, 1)
    for semi in (semi1, semi2):
        services.start_match(match_id=semi.id)
        services.complete_match(match_id=semi.id, participant1_score=2, participant2_score=1)
    services.reopen_match(match_id=semi1.id)
    semi1.refresh_from_db()
    final = match_at(tournament, 2, 0)
    assert (semi1.state, semi1.winner_id, semi1.participant1_score) == ("live", None, 2)
    assert (final.participant1_id, final.participant2_id) == (None, semi2.participant1_id)
    reopened = [frame for frame in frames(tournament.id, semi1.id) if frame["type"] == "match_reopened"]
    assert reopened and reopened[0]["data"]["series"] == [0, 0]
    services.update_score(match_id=semi1.id, participant1_score=2, participant2_score=3)  # live again
    services.complete_match(match_id=semi1.id, participant1_score=2, participant2_score=4)
    services.start_match(match_id=final.id)
    response = api(organizer).post(f"/api/matches/{semi1.id}/reopen/")
    assert response.status_code == 409 and "started" in response.json()["error"]["message"]
    services.complete_match(match_id=final.id, participant1_score=1, participant2_score=0)
    assert Tournament.objects.get(pk=tournament.id).status == "completed"
    services.reopen_match(match_id=final.id)
    tournament.refresh_from_db()
    assert (tournament.status, tournament.winner_id) == ("ongoing", None)
    assert frames(tournament.id)[-1]["type"] == "tournament_reopened"


def test_a_match_of_a_disqualified_participant_cannot_be_reopened(organizer):
    """Its loser out of the tournament, a reopened match would be live with nobody to play it."""
    tournament = make(organizer)
    semi1 = match_at(tournament, 1, 0)
    services.start_match(match_id=semi1.id)
    services.complete_match(match_id=semi1.id, participant1_score=2, participant2_score=1)
    services.disqualify(participant_id=semi1.participant2_id)
    before = Match.objects.get(pk=semi1.id)
    response = api(organizer).post(f"/api/matches/{semi1.id}/reopen/")
    assert response.status_code == 409 and "disqualified" in response.json()["error"]["message"]
    after = Match.objects.get(pk=semi1.id)
    assert (after.state, after.winner_id, after.version) == ("completed", before.winner_id, before.version)


def test_only_the_organizer_reopens_and_disqualifies(organizer, live_tournament):
    referee = factories.user_with_token("ref")
    services.grant_role(tournament_id=live_tournament.id, username="ref", role="referee")
    match = factories.first_live_match(live_tournament)
    services.complete_match(match_id=match.id, participant1_score=1, participant2_score=0)
    assert api(referee).post(f"/api/matches/{match.id}/reopen/").status_code == 403
    assert api(referee).post(f"/api/participants/{match.participant1_id}/disqualify/").status_code == 403
    assert api(organizer).post(f"/api/matches/{match.id}/reopen/").status_code == 200


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("forfeit/", {"participant_id": "1"}, 400),
        ("forfeit/", {}, 400),
        ("games/complete/", {"participant1_score": 1, "participant2_score": 0, "game": 0}, 400),
        ("reopen/", {}, 409),  # a live match
    ],
)
def test_bad_result_requests_are_refused_and_change_nothing(organizer, live_tournament, path, body, status):
    match = factories.first_live_match(live_tournament)
    before = Match.objects.get(pk=match.id)
    response = api(organizer).post(f"/api/matches/{match.id}/{path}", body, format="json")
    assert response.status_code == status, response.content
    assert "error" in response.json()
    after = Match.objects.get(pk=match.id)
    assert (after.state, after.version, after.winner_id) == (before.state, before.version, before.winner_id)

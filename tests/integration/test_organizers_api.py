"""The organizers' API (docs/api.md): every endpoint and method against every part a caller can have
in a tournament, then what each endpoint does with good and bad input."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from rest_framework.test import APIClient

from tests.harness import factories
from tournaments import services
from tournaments.models import Dispute, Match, Participant, Tournament, TournamentRole

pytestmark = pytest.mark.django_db(transaction=True)  # realtime state follows commits

PARTS = ("organizer", "referee", "participant", "stranger", "anonymous")


def as_(user) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def make_organizer(username: str = "org"):
    user = factories.user_with_token(username)
    services.allow_to_create_tournaments(user)
    return user


@pytest.fixture
def cast():
    """A public 4-player tournament, bracket drawn, nothing started, and one user for each part."""
    organizer = make_organizer()
    tournament = factories.tournament(organizer, 4, live=0)
    referee = factories.user_with_token("ref")
    services.grant_role(tournament_id=tournament.id, username="ref", role="referee")
    player = factories.user_with_token("player")
    Participant.objects.filter(tournament=tournament, seed=1).update(user=player)
    users = {
        "organizer": organizer,
        "referee": referee,
        "participant": player,
        "stranger": factories.user_with_token("stranger"),
        "anonymous": None,
    }
    return tournament, users


def first_match(tournament: Tournament) -> Match:
    return tournament.matches.get(round=1, position=0)


def live_match(tournament: Tournament) -> Match:
    match = first_match(tournament)
    services.start_match(match_id=match.id)
    return match


def open_dispute(tournament: Tournament) -> Dispute:
    match = live_match(tournament)
    organizer = tournament.roles.get(role="organizer").user
    return services.open_dispute(match_id=match.id, opened_by=organizer, reason="lag")


SCORE = {"participant1_score": 1, "participant2_score": 0}
# endpoint -> (method, path(tournament), body, the parts allowed, the status they get)
ENDPOINTS = {
    "list": ("get", lambda t: "/api/tournaments/", None, PARTS, 200),
    "create": ("post", lambda t: "/api/tournaments/", {"name": "New", "game": "Go"}, ("organizer",), 201),
    "read": ("get", lambda t: f"/api/tournaments/{t.id}/", None, PARTS, 200),
    "rename": ("patch", lambda t: f"/api/tournaments/{t.id}/", {"name": "Renamed"}, ("organizer",), 200),
    "delete": ("delete", lambda t: f"/api/tournaments/{t.id}/", None, ("organizer",), 204),
    "bracket": ("post", lambda t: f"/api/tournaments/{t.id}/bracket/", None, ("organizer",), 201),
    "add participant": (
        "post", lambda t: f"/api/tournaments/{t.id}/participants/", {"name": "Late"}, ("organizer",), 201,
    ),
    "edit participant": (
        "patch", lambda t: f"/api/participants/{t.participants.get(seed=2).id}/", {"name": "X"}, ("organizer",), 200,
    ),
    "remove participant": (
        "delete", lambda t: f"/api/participants/{t.participants.get(seed=4).id}/", None, ("organizer",), 204,
    ),
    "roles": ("get", lambda t: f"/api/tournaments/{t.id}/roles/", None, ("organizer", "referee"), 200),
    "grant role": (
        "post", lambda t: f"/api/tournaments/{t.id}/roles/", {"username": "stranger", "role": "referee"},
        ("organizer",), 201,
    ),
    "revoke role": ("delete", lambda t: f"/api/tournaments/{t.id}/roles/ref/", None, ("organizer",), 204),
    "start": ("post", lambda t: f"/api/matches/{first_match(t).id}/start/", None, ("organizer", "referee"), 200),
    "score": ("post", lambda t: f"/api/matches/{live_match(t).id}/score/", SCORE, ("organizer", "referee"), 202),
    "complete": (
        "post", lambda t: f"/api/matches/{live_match(t).id}/complete/", SCORE, ("organizer", "referee"), 200,
    ),
    "dispute a live match": (
        "post", lambda t: f"/api/matches/{live_match(t).id}/disputes/", {"reason": "lag"}, ("organizer", "referee"),
        201,
    ),
    "resolve": (
        "post", lambda t: f"/api/disputes/{open_dispute(t).id}/resolve/", {"resolution": "ok"},
        ("organizer", "referee"), 200,
    ),
}  # fmt: skip


@pytest.mark.parametrize("part", PARTS)
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_the_permission_matrix(cast, endpoint, part):
    tournament, users = cast
    method, path, body, allowed, success = ENDPOINTS[endpoint]
    response = getattr(as_(users[part]), method)(path(tournament), body, format="json")
    if part in allowed:
        assert response.status_code == success, response.content
    else:
        assert response.status_code == (401 if part == "anonymous" else 403), response.content
        assert response.json()["error"]["code"] in {"not_authenticated", "permission_denied"}


def test_an_organizer_of_one_tournament_is_nobody_special_in_another(cast):
    tournament, users = cast
    other = make_organizer("other-org")
    theirs = factories.tournament(other, 2, live=0)
    client = as_(users["organizer"])
    assert client.patch(f"/api/tournaments/{theirs.id}/", {"name": "Mine now"}, format="json").status_code == 403
    assert client.post(f"/api/tournaments/{theirs.id}/participants/", {"name": "Z"}, format="json").status_code == 403
    assert Tournament.objects.get(pk=theirs.id).name == "Test Cup"


def test_creating_a_tournament_with_participants_makes_the_caller_its_organizer():
    organizer = make_organizer()
    body = {"name": "Spring Open", "game": "Chess", "visibility": "private", "participants": ["Ann", "Bob", "Cy"]}
    response = as_(organizer).post("/api/tournaments/", body, format="json")
    assert response.status_code == 201
    document = response.json()
    assert document["tournament"]["visibility"] == "private" and document["tournament"]["status"] == "registration"
    assert [(p["name"], p["seed"]) for p in document["participants"]] == [("Ann", 1), ("Bob", 2), ("Cy", 3)]
    assert TournamentRole.objects.get(tournament_id=document["tournament"]["id"]).user == organizer


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "X", "game": "Go", "format": "swiss"}, "format"),
        ({"name": "X", "game": "Go", "groups": 2}, "groups"),
        ({"name": "X", "game": "Go", "format": "round_robin", "groups": 4}, "playoffs"),
        ({"name": "X", "game": "Go", "format": "round_robin", "groups": 0}, "groups"),
        (
            {
                "name": "X",
                "game": "Go",
                "format": "round_robin",
                "groups": 2,
                "playoffs": {"format": "swiss", "advance_per_group": 2},
            },
            "playoffs",
        ),
        (
            {
                "name": "X",
                "game": "Go",
                "format": "round_robin",
                "groups": 2,
                "playoffs": {"format": "single_elimination", "advance_per_group": 0},
            },
            "playoffs",
        ),
        ({"name": "X", "game": "Go", "format": "round_robin", "playoffs": [1, 2]}, "playoffs"),
        ({"name": "X", "game": "Go", "grand_final_reset": True}, "grand_final_reset"),
        ({"name": "X", "game": "Go", "format": "double_elimination", "third_place_match": True}, "third_place_match"),
        (
            {
                "name": "X",
                "game": "Go",
                "format": "round_robin",
                "groups": 2,
                "third_place_match": True,
                "playoffs": {"format": "double_elimination", "advance_per_group": 2},
            },
            "third_place_match",
        ),
        ({"name": "X", "game": "Go", "best_of": 2}, "best_of"),
        ({"name": "X", "game": "Go", "best_of": 11}, "best_of"),
        ({"name": "X", "game": "Go", "final_best_of": 4}, "final_best_of"),
        ({"name": "X", "game": "Go", "best_of": "1"}, "best_of"),
        ({"name": "X", "game": "Go", "third_place_match": "yes"}, "third_place_match"),
        ({"name": "", "game": "Go"}, "name"),
        ({"name": 5, "game": "Go"}, "name"),
        ({"game": "Go"}, "name"),
        ({"name": "X", "game": "Go", "visibility": "secret"}, "visibility"),
        ({"name": "X", "game": "Go", "participants": "Ann"}, "participants"),
        ({"name": "X", "game": "Go", "participants": ["Ann", "Ann"]}, "name"),
    ],
)
def test_bad_tournaments_are_refused_naming_the_field_and_nothing_is_created(body, field):
    response = as_(make_organizer()).post("/api/tournaments/", body, format="json")
    assert response.status_code in (400, 409)
    assert field in response.json()["error"]["details"]
    assert not Tournament.objects.exists()


def test_the_list_shows_public_tournaments_and_the_callers_own_private_ones_by_status_in_pages():
    organizer, other = make_organizer(), make_organizer("other")
    mine = factories.tournament(organizer, 2, bracket=False, visibility="private", name="Mine")
    factories.tournament(other, 2, bracket=False, visibility="private", name="Theirs")
    for index in range(60):
        factories.tournament(other, 2, bracket=False, name=f"Public {index}")
    listed = as_(organizer).get("/api/tournaments/").json()
    assert listed["count"] == 61 and len(listed["results"]) == 50 and listed["next"]
    everything = listed["results"] + as_(organizer).get(listed["next"]).json()["results"]
    assert "Mine" in {t["name"] for t in everything} and "Theirs" not in {t["name"] for t in everything}
    assert next(t for t in everything if t["id"] == mine.id)["my_roles"] == ["organizer"]
    assert as_(None).get("/api/tournaments/").json()["count"] == 60
    assert as_(organizer).get("/api/tournaments/?status=ongoing").json()["count"] == 0
    refused = as_(organizer).get("/api/tournaments/?status=finished")
    assert refused.status_code == 400 and "status" in refused.json()["error"]["details"]


def test_participants_names_and_seeds_are_unique_and_named_in_the_conflict(cast):
    tournament, users = cast
    client = as_(users["organizer"])
    url = f"/api/tournaments/{tournament.id}/participants/"
    taken_name = client.post(url, {"name": "P1"}, format="json")
    assert taken_name.status_code == 409 and "name" in taken_name.json()["error"]["details"]
    taken_seed = client.post(url, {"name": "New", "seed": 2}, format="json")
    assert taken_seed.status_code == 409 and "seed" in taken_seed.json()["error"]["details"]
    unknown = client.post(url, {"name": "New", "username": "nobody-here"}, format="json")
    assert unknown.status_code == 400 and "username" in unknown.json()["error"]["details"]
    assert tournament.participants.count() == 4


def test_adding_participants_before_any_match_draws_the_bracket_again(cast):
    tournament, users = cast
    url = f"/api/tournaments/{tournament.id}/participants/"
    response = as_(users["organizer"]).post(url, [{"name": "Late 1"}, {"name": "Late 2", "username": "stranger"}])
    assert response.status_code == 201
    assert [(p["name"], p["seed"], p["username"]) for p in response.json()["participants"]] == [
        ("Late 1", 5, None),
        ("Late 2", 6, "stranger"),
    ]
    assert tournament.matches.count() == 5  # 6 players: 2 byes, 5 matches
    late = Participant.objects.get(name="Late 2")
    assert Match.objects.filter(tournament=tournament, participant2=late).exists()


def test_after_a_match_started_participants_can_only_be_renamed(cast):
    tournament, users = cast
    live_match(tournament)
    client = as_(users["organizer"])
    second = tournament.participants.get(seed=2)
    assert client.post(f"/api/tournaments/{tournament.id}/participants/", {"name": "Late"}).status_code == 409
    assert client.delete(f"/api/participants/{second.id}/").status_code == 409
    assert client.patch(f"/api/participants/{second.id}/", {"seed": 9}, format="json").status_code == 409
    assert client.delete(f"/api/tournaments/{tournament.id}/").status_code == 409
    renamed = client.patch(f"/api/participants/{second.id}/", {"name": "Renamed"}, format="json")
    assert renamed.status_code == 200 and renamed.json()["name"] == "Renamed"


def test_a_tournament_always_keeps_one_organizer(cast):
    tournament, users = cast
    client = as_(users["organizer"])
    alone = client.delete(f"/api/tournaments/{tournament.id}/roles/org/")
    assert alone.status_code == 409 and "username" in alone.json()["error"]["details"]
    grant = client.post(f"/api/tournaments/{tournament.id}/roles/", {"username": "ref", "role": "organizer"})
    assert grant.status_code == 201
    assert client.delete(f"/api/tournaments/{tournament.id}/roles/org/").status_code == 204
    assert client.get(f"/api/tournaments/{tournament.id}/roles/").status_code == 403  # no longer an official
    roles = as_(users["referee"]).get(f"/api/tournaments/{tournament.id}/roles/").json()
    assert roles == [{"username": "ref", "role": "organizer"}, {"username": "ref", "role": "referee"}]
    unknown = as_(users["referee"]).post(
        f"/api/tournaments/{tournament.id}/roles/", {"username": "x", "role": "referee"}
    )
    assert unknown.status_code == 400 and "username" in unknown.json()["error"]["details"]


def test_players_dispute_their_own_completed_match_until_the_next_one_starts(cast):
    tournament, users = cast
    player, stranger, referee = (as_(users[part]) for part in ("participant", "stranger", "referee"))
    match = live_match(tournament)
    url = f"/api/matches/{match.id}/disputes/"
    assert player.post(url, {"reason": "lag"}).status_code == 403  # live: officials only
    services.complete_match(match_id=match.id, participant1_score=3, participant2_score=1)
    assert stranger.post(url, {"reason": "unfair"}).status_code == 403  # not their match
    opened = player.post(url, {"reason": "the last goal was offside"})
    assert opened.status_code == 201
    # the disputed match holds the start of the match it feeds
    other = tournament.matches.get(round=1, position=1)
    services.start_match(match_id=other.id)
    services.complete_match(match_id=other.id, participant1_score=2, participant2_score=0)
    final = tournament.matches.get(round=2)
    assert referee.post(f"/api/matches/{final.id}/start/").status_code == 409
    resolve = referee.post(f"/api/disputes/{opened.json()['dispute_id']}/resolve/", {"resolution": "goal stands"})
    assert resolve.status_code == 200
    again = player.post(url, {"reason": "but really"})  # one dispute per player: no stalling the bracket
    assert again.status_code == 409 and "already" in again.json()["error"]["message"]
    assert referee.post(f"/api/matches/{final.id}/start/").status_code == 200
    opponent = factories.user_with_token("opponent")
    Participant.objects.filter(pk=match.participant2_id).update(user=opponent)
    late = as_(opponent).post(url, {"reason": "I want a replay"})
    assert late.status_code == 409 and "started" in late.json()["error"]["message"]


def test_once_the_tournament_is_completed_only_an_organizer_may_dispute(organizer):
    tournament = factories.tournament(organizer, 2)
    referee = factories.user_with_token("ref")
    services.grant_role(tournament_id=tournament.id, username="ref", role="referee")
    final = tournament.matches.get()
    services.complete_match(match_id=final.id, participant1_score=2, participant2_score=1)
    url = f"/api/matches/{final.id}/disputes/"
    refused = as_(referee).post(url, {"reason": "re-crown"})
    assert refused.status_code == 409 and "completed" in refused.json()["error"]["message"]
    assert as_(organizer).post(url, {"reason": "a real mistake"}).status_code == 201


def test_create_organizer_is_idempotent_and_prints_what_an_organizer_needs(capsys):
    call_command("create_organizer", "alice", "--password", "a-long-password-7", "--json")
    first = json.loads(capsys.readouterr().out)
    call_command("create_organizer", "alice", "--json")
    again = json.loads(capsys.readouterr().out)
    assert first == again and set(first) == {"username", "token"}
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {first['token']}")
    assert client.post("/api/tournaments/", {"name": "Alice Cup", "game": "Go"}, format="json").status_code == 201
    alice = get_user_model().objects.get(username="alice")
    assert alice.check_password("a-long-password-7") and alice.has_perm("tournaments.add_tournament")


def test_score_adjustments_from_two_referees_both_count_and_never_go_below_zero(cast):
    tournament, users = cast
    match = live_match(tournament)
    url = f"/api/matches/{match.id}/score/adjust/"
    organizer, referee = as_(users["organizer"]), as_(users["referee"])
    services.update_score(match_id=match.id, participant1_score=2, participant2_score=0)
    first = organizer.post(url, {"participant1": 1})
    second = referee.post(url, {"participant2": 1})  # based on a screen that still showed 2:0
    assert (first.status_code, second.status_code) == (200, 200)
    assert (second.json()["participant1_score"], second.json()["participant2_score"]) == (3, 1)
    assert second.json()["score_version"] > first.json()["score_version"]
    assert referee.post(url, {"participant2": -5}).json()["participant2_score"] == 0
    for bad in ({}, {"participant1": 1.5}, {"participant1": "1"}, {"participant1": 101}, {"participant2": True}):
        refused = referee.post(url, bad)
        assert refused.status_code == 400, bad
    assert as_(users["participant"]).post(url, {"participant1": 1}).status_code == 403
    services.complete_match(match_id=match.id, participant1_score=3, participant2_score=0)
    assert referee.post(url, {"participant1": 1}).status_code == 409

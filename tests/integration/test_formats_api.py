"""Formats through the API: round robin groups (standings, their frames, playoffs seeded from them) and
double elimination; sizes a format does not allow are refused with the rule named, generating nothing."""

from __future__ import annotations

import json

import pytest

from realtime.store import history
from tests.integration.test_organizers_api import as_, make_organizer
from tournaments import selectors
from tournaments.models import Match, Tournament

pytestmark = pytest.mark.django_db(transaction=True)  # events are published on commit


def create(organizer, players: int, **options) -> dict:
    body = {"name": "Cup", "game": "Go", "participants": [f"P{n}" for n in range(1, players + 1)], **options}
    response = as_(organizer).post("/api/tournaments/", body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def draw(organizer, tournament_id: int):
    return as_(organizer).post(f"/api/tournaments/{tournament_id}/bracket/", format="json")


def play(organizer, match_id: int, side1_wins: bool = True) -> None:
    api = as_(organizer)
    assert api.post(f"/api/matches/{match_id}/start/").status_code == 200
    body = {"participant1_score": int(side1_wins), "participant2_score": int(not side1_wins)}
    assert api.post(f"/api/matches/{match_id}/complete/", body, format="json").status_code == 200


GROUPS_4x2 = {
    "format": "round_robin",
    "groups": 2,
    "playoffs": {"format": "single_elimination", "advance_per_group": 2},
}


@pytest.mark.parametrize(
    ("players", "options", "rule"),
    [
        (3, {**GROUPS_4x2, "playoffs": {**GROUPS_4x2["playoffs"], "advance_per_group": 1}}, "at least 4 participants"),
        (8, {**GROUPS_4x2, "playoffs": {**GROUPS_4x2["playoffs"], "advance_per_group": 5}}, "can advance 1 to 4"),
        (33, {"format": "round_robin"}, "at most 32 participants"),
        (3, {"format": "single_elimination", "third_place_match": True}, "at least 4 participants"),
    ],
)  # fmt: skip
def test_a_size_the_format_does_not_allow_is_refused_naming_the_rule_and_nothing_is_drawn(players, options, rule):
    organizer = make_organizer()
    tournament = create(organizer, players, **options)["tournament"]
    response = draw(organizer, tournament["id"])
    assert response.status_code == 400 and rule in response.json()["error"]["message"], response.json()
    assert not Match.objects.filter(tournament_id=tournament["id"]).exists()
    assert Tournament.objects.get(pk=tournament["id"]).status == Tournament.Status.REGISTRATION


def test_groups_publish_their_standings_after_each_result_and_seed_the_playoffs_when_they_are_over():
    organizer = make_organizer()
    tournament_id = create(organizer, 8, **GROUPS_4x2)["tournament"]["id"]
    assert draw(organizer, tournament_id).status_code == 201
    document = as_(None).get(f"/api/tournaments/{tournament_id}/").json()
    assert document["tournament"]["playoffs"] == {"format": "single_elimination", "advance_per_group": 2}
    assert [len(group["standings"]) for group in document["standings"]] == [4, 4]
    playoff = [m for m in document["matches"] if m["bracket"] == "main"]
    assert len(playoff) == 3 and all(m["participant1_id"] is None for m in playoff)  # seeded once the groups end

    group_matches = list(Match.objects.filter(tournament_id=tournament_id, bracket="group").order_by("round", "pk"))
    # Nobody plays two matches at once: every match of a group is known from the start.
    first = group_matches[0]
    assert as_(organizer).post(f"/api/matches/{first.id}/start/").status_code == 200
    clash = next(m for m in group_matches[1:] if set(m.sides) & set(first.sides))
    refused = as_(organizer).post(f"/api/matches/{clash.id}/start/")
    assert refused.status_code == 409 and "playing another one" in refused.json()["error"]["message"]
    body = {"participant1_score": 1, "participant2_score": 0}
    assert as_(organizer).post(f"/api/matches/{first.id}/complete/", body, format="json").status_code == 200

    # The group match's completion, then the tables: standings_updated follows the match's own frame.
    _, entries = history.history(tournament_id, selectors.match_ids(tournament_id))
    types = [json.loads(entry.frame)["type"] for entry in entries]
    assert types.index("standings_updated", types.index("match_completed")) > types.index("match_completed")
    frame = json.loads(next(e.frame for e in reversed(entries) if '"standings_updated"' in e.frame))
    standings = as_(None).get(f"/api/tournaments/{tournament_id}/standings/").json()
    assert frame["data"]["groups"] == standings["groups"]
    leader = standings["groups"][first.group - 1]["standings"][0]
    assert (leader["participant_id"], leader["wins"], leader["game_difference"]) == (first.participant1_id, 1, 1)

    for match in group_matches[1:]:
        play(organizer, match.id)
    seeded = [
        m for m in as_(None).get(f"/api/tournaments/{tournament_id}/").json()["matches"] if m["bracket"] == "main"
    ]
    semis = [m for m in seeded if m["round"] == 1]
    tables = standings_now = as_(None).get(f"/api/tournaments/{tournament_id}/standings/").json()["groups"]
    winners = [table["standings"][0]["participant_id"] for table in tables]
    runners_up = [table["standings"][1]["participant_id"] for table in tables]
    # Group winners apart, each facing the other group's runner-up.
    assert {(m["participant1_id"], m["participant2_id"]) for m in semis} == {
        (winners[0], runners_up[1]),
        (winners[1], runners_up[0]),
    }, standings_now
    # Once a playoff match started, the group results that seeded it stand.
    play(organizer, semis[0]["id"])
    refused = as_(organizer).post(f"/api/matches/{group_matches[-1].id}/reopen/")
    assert refused.status_code == 409, refused.json()


def test_standings_of_a_private_tournament_are_hidden_from_outsiders_and_empty_for_a_bracket():
    organizer = make_organizer()
    private = create(organizer, 4, format="round_robin", visibility="private")["tournament"]["id"]
    draw(organizer, private)
    assert as_(None).get(f"/api/tournaments/{private}/standings/").status_code == 404
    assert len(as_(organizer).get(f"/api/tournaments/{private}/standings/").json()["groups"]) == 1
    bracket = create(organizer, 4)["tournament"]["id"]
    assert as_(None).get(f"/api/tournaments/{bracket}/standings/").json() == {"groups": []}
    assert as_(None).get("/api/tournaments/999999/standings/").status_code == 404


def test_a_round_robin_of_one_group_is_won_by_the_top_of_its_table():
    organizer = make_organizer()
    tournament_id = create(organizer, 4, format="round_robin")["tournament"]["id"]
    draw(organizer, tournament_id)
    for match in Match.objects.filter(tournament_id=tournament_id).order_by("round", "pk"):
        play(organizer, match.id)
    document = as_(None).get(f"/api/tournaments/{tournament_id}/").json()
    table = document["standings"][0]["standings"]
    assert document["tournament"]["status"] == "completed"
    assert (document["tournament"]["winner_id"], document["tournament"]["third_place_id"]) == (
        table[0]["participant_id"],
        table[2]["participant_id"],
    )
    assert [row["wins"] for row in table] == sorted((row["wins"] for row in table), reverse=True)

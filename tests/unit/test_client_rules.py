"""The client rules of docs/protocol.md (the reference client, twin of live-page.js): pure logic."""

import json

from tests.harness.reference_client import ReferenceClient


def frame(event: str, **data) -> str:
    return json.dumps({"type": event, "data": data})


def match(match_id: int, **fields) -> dict:
    base = {"id": match_id, "round": 1, "position": 0, "state": "scheduled", "participant1_id": 1,
            "participant2_id": 2, "winner_id": None, "version": 0}  # fmt: skip
    return {**base, **fields}


SNAPSHOT = {
    "tournament": {"id": 1, "status": "ongoing", "winner_id": None, "sequence": 1, "epoch": "e"},
    "participants": [{"id": 1, "name": "A", "seed": 1}, {"id": 2, "name": "B", "seed": 2}],
    "matches": [
        {
            **match(5, state="live", version=1),
            "participant1_score": 0,
            "participant2_score": 0,
            "dispute": None,
            "sequence": 1,
        }
    ],  # fmt: skip
}


def shown(client: ReferenceClient) -> dict:
    return client.shows()["matches"][0]


def test_a_bracket_entry_built_before_a_newer_match_event_does_not_roll_the_match_back():
    client = ReferenceClient(SNAPSHOT)
    client.receive(frame("match_completed", sequence=2, match_id=5, tournament_id=1, version=2,
                         participant1_score=3, participant2_score=1, score_version=5, winner_id=1))  # fmt: skip
    client.receive(frame("bracket_updated", sequence=2, tournament_id=1, matches=[match(5, state="live", version=1)]))
    assert (shown(client)["state"], shown(client)["winner_id"], shown(client)["version"]) == ("completed", 1, 2)


def test_a_match_event_older_than_a_bracket_entry_keeps_the_newer_state_but_its_score_applies():
    client = ReferenceClient(SNAPSHOT)
    client.receive(
        frame("bracket_updated", sequence=2, tournament_id=1, matches=[match(5, state="disputed", version=3)])
    )
    client.receive(frame("match_started", sequence=2, match_id=5, tournament_id=1, version=2,
                         participant1_id=1, participant2_id=2))  # fmt: skip
    client.receive(frame("score_updated", sequence=3, match_id=5, tournament_id=1,
                         participant1_score=4, participant2_score=0, score_version=6))  # fmt: skip
    assert (shown(client)["state"], shown(client)["participant1_score"]) == ("disputed", 4)


def test_participant_lists_replace_the_names_and_an_empty_bracket_means_registration():
    client = ReferenceClient(SNAPSHOT)
    renamed = [{"id": 1, "name": "Aurora", "seed": 1}, {"id": 2, "name": "B", "seed": 2}]
    client.receive(frame("participants_updated", sequence=2, tournament_id=1, participants=renamed))
    assert client.shows()["participants"][0]["name"] == "Aurora"
    client.receive(frame("bracket_generated", sequence=3, tournament_id=1, matches=[], participants=renamed[:1]))
    assert client.shows()["matches"] == [] and client.shows()["tournament"]["status"] == "registration"

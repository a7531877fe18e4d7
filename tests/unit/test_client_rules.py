"""The client rules of docs/protocol.md (the reference client, twin of live-page.js): pure logic."""

import json

from tests.harness.reference_client import ReferenceClient, unbatched


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


def score(match_id: int, sequence: int, p1: int, p2: int = 0) -> dict:
    return {"type": "score_updated", "data": {"match_id": match_id, "tournament_id": 1, "sequence": sequence,
            "score_version": sequence, "participant1_score": p1, "participant2_score": p2}}  # fmt: skip


def batch(*entries: dict) -> str:
    return json.dumps({"type": "batch", "data": {"frames": list(entries)}})


TWO_LIVE = {
    **SNAPSHOT,
    "matches": [
        {**SNAPSHOT["matches"][0], "score_version": 0},
        {**SNAPSHOT["matches"][0], **match(6, state="live", version=1, position=1), "score_version": 0, "sequence": 4},
    ],
}


def scores(client: ReferenceClient) -> dict:
    return {
        m["id"]: (m["participant1_score"], m["participant2_score"], m["sequence"]) for m in client.shows()["matches"]
    }


def test_a_batch_applies_each_match_entry_as_if_it_had_arrived_alone():
    client = ReferenceClient(TWO_LIVE, on_socket=True)
    assert client.receive(batch(score(5, 2, 1), score(6, 5, 0, 3)))
    assert scores(client) == {5: (1, 0, 2), 6: (0, 3, 5)}
    assert client.shows()["matches"][1]["score_version"] == 5
    # the next batch carries only what changed since; the other match keeps its score and sequence
    assert client.receive(batch(score(6, 7, 1, 3)))
    assert scores(client) == {5: (1, 0, 2), 6: (1, 3, 7)}
    assert client.violations == []


def test_a_batch_entry_not_above_the_last_sequence_of_its_match_is_dropped_and_the_others_apply():
    client = ReferenceClient(TWO_LIVE)
    client.receive(json.dumps(score(5, 3, 2)))  # e.g. replayed alone after a resume
    assert client.receive(batch(score(5, 3, 9), score(6, 5, 4)))
    assert scores(client) == {5: (2, 0, 3), 6: (4, 0, 5)}
    assert not client.receive(batch(score(5, 2, 7), score(6, 4, 7)))
    assert scores(client) == {5: (2, 0, 3), 6: (4, 0, 5)}


def test_on_a_socket_a_stale_batch_entry_is_a_violation_but_in_a_history_it_is_expected():
    stale = batch(score(5, 1, 9))  # the snapshot already holds sequence 1
    history = ReferenceClient(TWO_LIVE)
    history.receive(stale)
    socket = ReferenceClient(TWO_LIVE, on_socket=True)
    socket.receive(stale)
    assert history.violations == []
    assert socket.violations == ["batch entry 0: score_updated on m:5: sequence 1 not above 1 (stale or duplicate)"]


def test_a_batch_entry_after_the_match_completed_is_flagged_and_a_batch_holds_one_score_per_match():
    client = ReferenceClient(TWO_LIVE, on_socket=True)
    client.receive(frame("match_completed", sequence=2, match_id=5, tournament_id=1, version=2,
                         participant1_score=3, participant2_score=1, score_version=5, winner_id=1))  # fmt: skip
    client.receive(batch(score(6, 5, 1), score(5, 3, 4), score(6, 6, 2)))
    assert client.violations == [
        "batch entry 1: score_updated on m:5 after the match's completion",
        "batch entry 2: a second entry for match 6 in the same batch",
    ]
    assert scores(client)[6] == (2, 0, 6)


def test_a_score_alone_after_the_completion_is_flagged_too_and_batches_carry_only_scores():
    client = ReferenceClient(
        {**SNAPSHOT, "matches": [{**SNAPSHOT["matches"][0], "state": "completed"}]}, on_socket=True
    )
    client.receive(json.dumps(score(5, 2, 1)))
    disputed = frame("dispute_created", sequence=3, match_id=5, tournament_id=1, version=2, dispute_id=1, reason="r")
    client.receive(batch(json.loads(disputed)))
    client.receive(batch())
    assert client.violations == [
        "score_updated on m:5 after the match's completion",
        "batch entry 0: a dispute_created frame (batches carry only score_updated)",
        "an empty batch",
    ]


def test_unbatched_lists_a_sockets_frames_one_event_at_a_time():
    frames = [json.loads(batch(score(5, 2, 1), score(6, 5, 0))), score(5, 3, 2)]
    assert [(f["data"]["match_id"], f["data"]["sequence"]) for f in unbatched(frames)] == [(5, 2), (6, 5), (5, 3)]

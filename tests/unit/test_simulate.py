"""`manage.py simulate` against a fake API: lost answers, refusals and ties (the real server: tests/e2e)."""

from __future__ import annotations

import json
import random
from io import StringIO

import httpx

from tournaments.management.commands.simulate import Command


class FakeApi:
    """One best-of-3 match of a two-player tournament, as the API plays it; `lose_answers`: game
    completions that go through but whose answer is lost (a timeout)."""

    def __init__(self, lose_answers: int = 0) -> None:
        self.lose_answers = lose_answers
        self.match = {
            "id": 1, "bracket": "main", "round": 1, "position": 0, "best_of": 3, "state": "scheduled",
            "participant1_id": 10, "participant2_id": 20, "participant1_score": 0, "participant2_score": 0,
            "winner_id": None, "game": 1, "series": [0, 0], "games": [],
        }  # fmt: skip
        self.completions: list[dict] = []  # the bodies of every games/complete post
        self.refused = 0

    def document(self) -> dict:
        completed = self.match["state"] == "completed"
        tournament = {
            "id": 1, "name": "Cup", "status": "completed" if completed else "ongoing",
            "winner_id": self.match["winner_id"], "third_place_id": None,
        }  # fmt: skip
        participants = [{"id": 10, "name": "Aurora"}, {"id": 20, "name": "Blaze"}]
        return {"tournament": tournament, "participants": participants, "matches": [self.match]}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        match, path = self.match, request.url.path
        if request.method == "GET":
            return httpx.Response(200, json=self.document())
        body = json.loads(request.content or b"null")
        if path.endswith("/start/"):
            match["state"] = "live"
            return httpx.Response(200, json={"match_id": 1, "state": "live"})
        if body.get("game") != match["game"] or match["state"] != "live":
            self.refused += 1
            return httpx.Response(409, json={"error": {"code": "conflict", "message": "not that game"}})
        if path.endswith("/score/"):
            match.update(participant1_score=body["participant1_score"], participant2_score=body["participant2_score"])
            return httpx.Response(202, json={})
        self.completions.append(body)
        scores = (body["participant1_score"], body["participant2_score"])
        assert scores[0] != scores[1], "the API refuses ties (400)"
        side = 0 if scores[0] > scores[1] else 1
        match["series"][side] += 1
        winner = (10, 20)[side]
        game = {"number": match["game"], "participant1_score": scores[0], "participant2_score": scores[1]}
        match["games"].append({**game, "winner_id": winner, "state": "completed"})
        if max(match["series"]) == 2:
            match["state"], match["winner_id"] = "completed", winner
        else:
            match["game"] += 1
            match["participant1_score"] = match["participant2_score"] = 0
        if self.lose_answers:
            self.lose_answers -= 1
            raise httpx.ReadTimeout("the answer was lost", request=request)
        answer = {"state": match["state"], "series": match["series"], "completed_game": match["games"][-1]}
        return httpx.Response(200, json=answer)


def simulate(api: FakeApi, seed: int = 1) -> tuple[str, str]:
    command = Command(stdout=StringIO(), stderr=StringIO())
    command.rng = random.Random(seed)
    command.client = httpx.Client(base_url="http://api", transport=httpx.MockTransport(api))
    command.play(1, rate=1000, game_seconds=0, timeout=30)
    return command.stdout.getvalue(), command.stderr.getvalue()


def test_a_series_is_played_game_by_game_without_ties_until_a_side_has_two_wins():
    api = FakeApi()
    out, _ = simulate(api)
    assert [body["game"] for body in api.completions] == list(range(1, len(api.completions) + 1))
    assert len(api.completions) in (2, 3) and max(api.match["series"]) == 2
    assert all(body["participant1_score"] != body["participant2_score"] for body in api.completions)
    assert "· game 1   R1M1 Aurora vs Blaze" in out
    assert f"🏆 {'Aurora' if api.match['winner_id'] == 10 else 'Blaze'} wins Cup" in out


def test_a_completion_whose_answer_was_lost_is_retried_and_its_409_taken_as_done():
    api = FakeApi(lose_answers=3)  # every completion goes through, but nobody hears back
    out, err = simulate(api)
    assert api.match["state"] == "completed"
    assert [body["game"] for body in api.completions] == list(range(1, len(api.completions) + 1))
    assert api.refused == len(api.completions)  # each retry refused: no game ended twice, nor the next one
    assert "ReadTimeout" in err and "wins Cup" in out

"""HTTP API: every endpoint's success, and every class of bad input gets a clear 4xx."""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from project.localredis import free_port
from realtime.store import scripts
from realtime.tasks import flush_pending_batches
from tests.harness import factories
from tournaments import services
from tournaments.models import Dispute, Match

pytestmark = pytest.mark.django_db(transaction=True)  # realtime state follows commits


def client_for(user=None) -> APIClient:
    api = APIClient()
    if user is not None:
        api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return api


@pytest.fixture
def tournament(organizer):
    return factories.tournament(organizer, 5, bracket=False, name="API Cup")


@pytest.fixture
def stranger(db):
    return get_user_model().objects.create_user(username="stranger")


@pytest.fixture
def other_organizer(db):
    user = get_user_model().objects.create_user(username="other-organizer")
    factories.tournament(user, 2, bracket=False, name="Other")
    return user


@pytest.mark.django_db(transaction=True)  # events are published on commit: let them commit
def test_the_whole_lifecycle_over_http(organizer, tournament):
    api = client_for(organizer)
    response = api.post(f"/api/tournaments/{tournament.id}/bracket/")
    assert response.status_code == 201
    matches = response.json()["matches"]
    assert len(matches) == 4  # 5 participants: 4 real matches, 3 byes
    round_one = next(m for m in matches if m["round"] == 1)
    match_id = round_one["id"]
    assert api.post(f"/api/matches/{match_id}/start/").status_code == 200
    response = api.post(
        f"/api/matches/{match_id}/score/", {"participant1_score": 2, "participant2_score": 1}, format="json"
    )
    assert response.status_code == 202
    response = api.post(
        f"/api/matches/{match_id}/complete/", {"participant1_score": 3, "participant2_score": 1}, format="json"
    )
    assert response.status_code == 200
    winner = response.json()["winner_id"]
    detail = client_for().get(f"/api/tournaments/{tournament.id}/").json()
    by_id = {m["id"]: m for m in detail["matches"]}
    assert by_id[match_id]["state"] == "completed" and by_id[match_id]["winner_id"] == winner
    assert by_id[match_id]["sequence"] >= 2
    final_four = [m for m in detail["matches"] if m["round"] == 2]
    assert any(winner in (m["participant1_id"], m["participant2_id"]) for m in final_four)
    response = api.post(f"/api/matches/{match_id}/disputes/", {"reason": "wrong score"}, format="json")
    assert response.status_code == 201
    assert Match.objects.get(pk=match_id).state == "disputed"


@pytest.fixture
def live_match(organizer, tournament):
    services.generate_bracket(tournament_id=tournament.id)
    match = tournament.matches.filter(round=1).first()
    services.start_match(match_id=match.id)
    return match


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"participant1_score": 1},
        {"participant1_score": "1", "participant2_score": 2},
        {"participant1_score": 1.0, "participant2_score": 2},
        {"participant1_score": True, "participant2_score": 2},
        {"participant1_score": -1, "participant2_score": 2},
        {"participant1_score": 10**12, "participant2_score": 2},
        {"participant1_score": None, "participant2_score": 2},
        [1, 2],
        "scores",
    ],
)
def test_bad_scores_are_refused_with_400_and_change_nothing(organizer, live_match, body):
    response = client_for(organizer).post(f"/api/matches/{live_match.id}/score/", body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert Match.objects.get(pk=live_match.id).score_version == 0


def test_malformed_json_is_a_400(organizer, live_match):
    response = client_for(organizer).post(
        f"/api/matches/{live_match.id}/score/", "{oops", content_type="application/json"
    )
    assert response.status_code == 400


def test_unknown_ids_are_404(organizer):
    api = client_for(organizer)
    assert api.get("/api/tournaments/424242/").status_code == 404
    assert api.post("/api/tournaments/424242/bracket/").status_code == 404
    for action in ("start", "score", "complete", "disputes"):
        body = {"participant1_score": 1, "participant2_score": 0, "reason": "x"}
        assert api.post(f"/api/matches/424242/{action}/", body, format="json").status_code == 404


def test_wrong_state_is_409_with_a_message(organizer, live_match):
    api = client_for(organizer)
    assert api.post(f"/api/matches/{live_match.id}/start/").status_code == 409
    api.post(
        f"/api/matches/{live_match.id}/complete/", {"participant1_score": 1, "participant2_score": 0}, format="json"
    )
    response = api.post(
        f"/api/matches/{live_match.id}/score/", {"participant1_score": 5, "participant2_score": 0}, format="json"
    )
    assert response.status_code == 409
    assert "live" in response.json()["error"]["message"]
    assert Match.objects.get(pk=live_match.id).participant1_score == 1
    response = api.post(f"/api/tournaments/{live_match.tournament_id}/bracket/")
    assert response.status_code == 409


def test_a_tie_cannot_complete_a_match(organizer, live_match):
    response = client_for(organizer).post(
        f"/api/matches/{live_match.id}/complete/", {"participant1_score": 2, "participant2_score": 2}, format="json"
    )
    assert response.status_code == 400
    assert Match.objects.get(pk=live_match.id).state == "live"


def test_writes_refuse_anonymous_wrong_token_spectators_and_other_organizers(live_match, stranger, other_organizer):
    body = {"participant1_score": 1, "participant2_score": 0}
    anonymous = APIClient()
    wrong_token = APIClient()
    wrong_token.credentials(HTTP_AUTHORIZATION="Token nope")
    for api, expected in [
        (anonymous, 401),
        (wrong_token, 401),
        (client_for(stranger), 403),
        (client_for(other_organizer), 403),
    ]:
        for path in ("start", "score", "complete", "disputes"):
            response = api.post(f"/api/matches/{live_match.id}/{path}/", {**body, "reason": "x"}, format="json")
            assert response.status_code == expected, (path, response.content)
        assert api.post(f"/api/tournaments/{live_match.tournament_id}/bracket/").status_code == expected
    assert Match.objects.get(pk=live_match.id).state == "live"
    assert Match.objects.get(pk=live_match.id).score_version == 0


def test_resolving_a_dispute_refuses_everyone_but_this_tournaments_organizer(
    organizer, live_match, stranger, other_organizer
):
    dispute = services.open_dispute(match_id=live_match.id, opened_by=organizer, reason="lag")
    wrong_token = APIClient()
    wrong_token.credentials(HTTP_AUTHORIZATION="Token nope")
    for api, expected in [(APIClient(), 401), (wrong_token, 401), (client_for(stranger), 403),
                          (client_for(other_organizer), 403)]:  # fmt: skip
        response = api.post(f"/api/disputes/{dispute.id}/resolve/", {"resolution": "mine now"}, format="json")
        assert response.status_code == expected
    assert Match.objects.get(pk=live_match.id).state == "disputed"


def test_referees_can_score_but_not_regenerate_the_bracket(live_match):
    referee = get_user_model().objects.create_user(username="referee")
    live_match.tournament.roles.create(user=referee, role="referee")
    api = client_for(referee)
    body = {"participant1_score": 1, "participant2_score": 0}
    assert api.post(f"/api/matches/{live_match.id}/score/", body, format="json").status_code == 202
    assert api.post(f"/api/tournaments/{live_match.tournament_id}/bracket/").status_code == 403


def test_private_tournaments_are_hidden_from_non_members_exactly_like_missing_ones(private_tournament):
    tournament, match, tokens = private_tournament
    outsider, organizer = APIClient(), APIClient()
    outsider.credentials(HTTP_AUTHORIZATION=f"Token {tokens['outsider']}")
    organizer.credentials(HTTP_AUTHORIZATION=f"Token {tokens['private-organizer']}")
    missing_tournament, missing_match = tournament.id + 1000, match.id + 1000

    def answer(client, path: str, method: str = "get", body=None):
        response = getattr(client, method)(path, body, format="json")
        text = response.content.decode().replace(str(missing_tournament), "ID").replace(str(missing_match), "ID")
        return response.status_code, text.replace(str(tournament.id), "ID").replace(str(match.id), "ID")

    for client in (APIClient(), outsider):
        assert answer(client, f"/api/tournaments/{tournament.id}/") == answer(
            client, f"/api/tournaments/{missing_tournament}/"
        )
        assert answer(client, f"/api/tournaments/{tournament.id}/")[0] == 404
    score = {"participant1_score": 1, "participant2_score": 0}
    for action, body in (("start", None), ("score", score), ("complete", score), ("disputes", {"reason": "x"})):
        hidden = answer(outsider, f"/api/matches/{match.id}/{action}/", "post", body)
        assert hidden == answer(outsider, f"/api/matches/{missing_match}/{action}/", "post", body)
        assert hidden[0] == 404, action
    assert answer(outsider, f"/api/tournaments/{tournament.id}/bracket/", "post")[0] == 404
    assert organizer.get(f"/api/tournaments/{tournament.id}/").status_code == 200
    assert APIClient().get(f"/tournaments/{tournament.id}/").status_code == 404


def test_the_tournament_answers_from_the_database_while_redis_is_down(organizer, live_match):
    services.update_score(match_id=live_match.id, participant1_score=4, participant2_score=2)
    flush_pending_batches(0)  # published, and saved (a match's first save is due at once)
    with override_settings(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0"):  # nobody listens there
        scripts.reset()
        try:
            response = client_for().get(f"/api/tournaments/{live_match.tournament_id}/")
        finally:
            scripts.reset()
    assert response.status_code == 200
    body = response.json()
    assert body["tournament"]["sequence"] is None and body["tournament"]["epoch"] is None
    assert body["viewers"] is None
    match = next(m for m in body["matches"] if m["id"] == live_match.id)
    assert (match["participant1_score"], match["participant2_score"], match["sequence"]) == (4, 2, None)


def test_the_openapi_schema_is_served():
    response = APIClient().get("/api/schema/")
    assert response.status_code == 200
    assert b"/api/matches/{match_id}/score/" in response.content


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=20), inner, max_size=3),
    max_leaves=6,
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.one_of(
        json_values,
        st.fixed_dictionaries({"participant1_score": json_values, "participant2_score": json_values}),
        st.fixed_dictionaries({"reason": json_values}),
        st.fixed_dictionaries({"participant_id": json_values}),
        st.fixed_dictionaries(
            {"participant1_score": json_values, "participant2_score": json_values, "game": json_values}
        ),
        st.fixed_dictionaries(
            {"resolution": json_values},
            optional={"participant1_score": json_values, "participant2_score": json_values},
        ),
    ),
    endpoint=st.sampled_from(
        [
            "score",
            "complete",
            "games/complete",
            "forfeit",
            "reopen",
            "disqualify",
            "disputes",
            "start",
            "resolve",
            "bracket",
        ]
    ),
    identifier=st.one_of(st.just(None), st.integers(min_value=0, max_value=2**63)),
)
def test_fuzzed_requests_to_every_write_endpoint_never_get_a_500(organizer, live_match, body, endpoint, identifier):
    """Any body, any id, on every write endpoint: a 2xx or a clear 4xx, never a 500."""
    dispute = Dispute.objects.filter(match=live_match, status="open").first()
    default_id = {
        "resolve": dispute.id if dispute else 1,
        "bracket": live_match.tournament_id,
        "disqualify": live_match.participant1_id,
    }.get(endpoint, live_match.id)
    target = default_id if identifier is None else identifier
    path = {
        "resolve": f"/api/disputes/{target}/resolve/",
        "bracket": f"/api/tournaments/{target}/bracket/",
        "disqualify": f"/api/participants/{target}/disqualify/",
    }.get(endpoint, f"/api/matches/{target}/{endpoint}/")
    response = client_for(organizer).post(path, body, format="json")
    assert response.status_code < 500, response.content
    if response.status_code >= 400:
        assert "error" in response.json()


def nested(depth: int, opener: str) -> bytes:
    closer = {"[": "]", "{": "}"}[opener]
    inner = '{"a":' if opener == "{" else "["
    return ((inner * depth) + "1" + (closer * depth)).encode()


raw_bodies = (
    st.binary(max_size=200)
    | st.text(max_size=200).map(str.encode)
    | st.builds(nested, st.integers(min_value=1, max_value=20_000), st.sampled_from("[{"))  # any depth
    | st.integers(min_value=1, max_value=300_000).map(lambda size: b'{"reason": "' + b"x" * size + b'"}')  # any size
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    raw=raw_bodies,
    endpoint=st.sampled_from(
        ["score", "complete", "games/complete", "forfeit", "disputes", "start", "resolve", "bracket"]
    ),
)
def test_fuzzed_raw_bodies_of_any_depth_and_size_never_get_a_500(organizer, live_match, raw, endpoint):
    path = {
        "resolve": "/api/disputes/1/resolve/",
        "bracket": f"/api/tournaments/{live_match.tournament_id}/bracket/",
    }.get(endpoint, f"/api/matches/{live_match.id}/{endpoint}/")
    response = client_for(organizer).post(path, raw, content_type="application/json")
    assert response.status_code < 500, response.content
    assert response.status_code < 300 or "error" in response.json()


def test_score_posts_are_throttled_per_token(organizer, live_match, monkeypatch):
    from tournaments.api.throttling import FeedRateThrottle

    monkeypatch.setitem(FeedRateThrottle.THROTTLE_RATES, "score", "3/min")
    clock = [60 * 1_000_000 + 15.0]  # 15 s into a minute: the counter's window (the cache is real)
    monkeypatch.setattr(FeedRateThrottle, "timer", staticmethod(lambda: clock[0]))
    api = client_for(organizer)

    def post(points: int):
        body = {"participant1_score": points, "participant2_score": 0}
        return api.post(f"/api/matches/{live_match.id}/score/", body, format="json")

    assert [post(n).status_code for n in range(5)] == [202, 202, 202, 429, 429]
    response = post(9)
    assert response.json()["error"]["code"] == "throttled"
    assert response["Retry-After"] == "45"  # when the window ends
    flush_pending_batches(0)  # what was taken is published and saved: the last accepted score, not a throttled one
    assert Match.objects.get(pk=live_match.id).participant1_score == 2
    clock[0] += 45  # the next window: a new budget
    assert post(3).status_code == 202
    # another organizer's token has its own budget
    other = get_user_model().objects.create_user(username="co-organizer")
    live_match.tournament.roles.create(user=other, role="organizer")
    assert (
        client_for(other)
        .post(f"/api/matches/{live_match.id}/score/", {"participant1_score": 3, "participant2_score": 0}, format="json")
        .status_code
        == 202
    )


def test_a_live_score_post_reads_nothing_from_the_database_once_its_caller_and_match_are_known(organizer, live_match):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    api = client_for(organizer)
    path, body = f"/api/matches/{live_match.id}/score/", {"participant1_score": 1, "participant2_score": 0}
    assert api.post(path, body, format="json").status_code == 202  # learns the token, the officials, the gate
    with CaptureQueriesContext(connection) as queries:
        for points in range(2, 12):
            assert api.post(path, {**body, "participant1_score": points}, format="json").status_code == 202
    assert [query["sql"] for query in queries] == []


def test_a_revoked_token_is_refused_once_its_cached_time_is_over(organizer, live_match, monkeypatch):
    from tournaments.api import authentication

    now = [1000.0]
    monkeypatch.setattr(authentication, "_now", lambda: now[0])
    api = client_for(organizer)
    path, body = f"/api/matches/{live_match.id}/score/", {"participant1_score": 1, "participant2_score": 0}
    assert api.post(path, body, format="json").status_code == 202
    Token.objects.filter(user=organizer).delete()
    now[0] += django_settings.API_TOKEN_CACHE_S + 0.1
    response = api.post(path, body, format="json")
    assert response.status_code == 401 and response.json()["error"]["code"] == "authentication_failed"

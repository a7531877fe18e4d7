"""Redis going away makes score posts fail clearly (503) and recover by themselves when it returns."""

from __future__ import annotations

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from project.localredis import free_port, start_server, stop_server
from realtime import store
from tournaments import services
from tournaments.models import Match

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def own_redis(tmp_path):
    """A Redis server of this test's own, which it may stop and start, used by the realtime store."""
    port = free_port()
    server = start_server(port, tmp_path)
    url = f"redis://127.0.0.1:{port}/0"
    with override_settings(REDIS_URL=url):
        store.client.cache_clear()
        store._scripts.cache_clear()
        yield {"port": port, "dir": tmp_path, "process": server}
    store.client.cache_clear()
    store._scripts.cache_clear()
    stop_server(server)


def post_score(organizer, match, p1: int):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {organizer.api_token}")
    return api.post(
        f"/api/matches/{match.id}/score/", {"participant1_score": p1, "participant2_score": 0}, format="json"
    )


def test_score_posts_answer_503_while_redis_is_down_and_recover_after(own_redis, organizer):
    tournament = services.create_tournament(name="Outage", game="Go", organizer=organizer, participant_names=["A", "B"])
    services.generate_bracket(tournament.id)
    match = Match.objects.get(tournament=tournament)
    services.start_match(match.id)
    assert post_score(organizer, match, 1).status_code == 202

    stop_server(own_redis["process"])
    response = post_score(organizer, match, 2)
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "unavailable"

    own_redis["process"] = start_server(own_redis["port"], own_redis["dir"])
    response = post_score(organizer, match, 3)
    assert response.status_code == 202
    # the store took the update: its latest frame is the one just posted
    assert b'"participant1_score":3' in store.client().hget(store.match_key(match.id), "tail")

"""Realtime state belongs to one database: Redis state left by another (here, the same database reset
under a live Redis) is never read as this one's, even for a match with the same id."""

from __future__ import annotations

import os
from io import StringIO

import pytest
from django.core.management import call_command

from realtime import snapshots
from realtime.store import keys
from realtime.store.keys import Room
from realtime.tasks import flush_pending_batches
from tests.harness import factories
from tournaments import services
from tournaments.models import Match

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def namespace_of_the_database(settings):
    """Keys named from the database's namespace, as in production (the suite pins one of its own)."""
    settings.REALTIME_NAMESPACE = ""
    keys.use_namespace(None)
    yield
    keys.use_namespace(os.environ["REALTIME_NAMESPACE"])


def live_match_scored(p1: int, p2: int, *, match_id: int | None = None) -> Match:
    """A live match with that published score; with `match_id`, renumbered to it first (a reset
    database numbers its rows again: a match then has an id an earlier one had)."""
    organizer = factories.user_with_token("organizer")
    match = Match.objects.get(tournament=factories.tournament(organizer, 2))
    if match_id is not None and match.id != match_id:
        Match.objects.filter(pk=match.id).update(id=match_id)  # a 2-player bracket: no row points at it
        match = Match.objects.get(pk=match_id)
    services.update_score(match_id=match.id, participant1_score=p1, participant2_score=p2)
    flush_pending_batches(0)
    return match


def shown_score(match: Match) -> tuple[int, int]:
    document = snapshots.take(Room.tournament(match.tournament_id)).document
    (shown,) = [m for m in document["matches"] if m["id"] == match.id]
    return shown["participant1_score"], shown["participant2_score"]


def test_a_database_reset_under_a_live_redis_starts_from_nothing(namespace_of_the_database):
    before = live_match_scored(7, 3)
    services.complete_match(match_id=before.id, participant1_score=7, participant2_score=3)  # done, in Redis
    old_namespace = keys.namespace()

    call_command("flush", interactive=False, verbosity=0)  # every row gone; Redis keeps the old state
    keys.use_namespace(None)  # the processes restart

    after = live_match_scored(1, 0, match_id=before.id)  # the same id: the old state would be this match's
    assert keys.namespace() != old_namespace
    assert shown_score(after) == (1, 0)  # not 7:3, not refused as a completed match's
    services.update_score(match_id=after.id, participant1_score=2, participant2_score=0)  # taken, not stale
    flush_pending_batches(0)
    assert shown_score(after) == (2, 0)


def test_a_new_namespace_after_a_restore_leaves_the_old_state_behind(namespace_of_the_database):
    match = live_match_scored(4, 4)
    before = snapshots.take(Room.tournament(match.tournament_id)).document["tournament"]
    old_namespace = keys.namespace()
    out = StringIO()
    call_command("realtime_new_namespace", stdout=out)
    keys.use_namespace(None)
    assert keys.namespace() != old_namespace and old_namespace in out.getvalue()
    after = snapshots.take(Room.tournament(match.tournament_id)).document["tournament"]
    assert before["sequence"] > 0 and after["sequence"] == 0 and after["epoch"] != before["epoch"]
    services.update_score(match_id=match.id, participant1_score=5, participant2_score=4)  # taken afresh
    flush_pending_batches(0)
    assert shown_score(match) == (5, 4)

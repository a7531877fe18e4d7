"""Every service action keeps clients exact: a snapshot taken before it, plus the frames the action
published, applied by the client rules, equals a fresh snapshot taken after it.

Real Redis and database, in process; frames are read from the tournament's history in publish order
(every published frame is in it), and pending score batches are flushed as a worker would.
"""

from __future__ import annotations

import pytest

from realtime import snapshots
from realtime.store import history
from realtime.store.keys import Room
from realtime.tasks import flush_pending_batches
from tests.harness import factories
from tests.harness.reference_client import ReferenceClient, as_shown
from tournaments import selectors, services
from tournaments.models import Match, Participant
from tournaments.services.tournaments import NewParticipant

pytestmark = pytest.mark.django_db(transaction=True)  # events are published on commit


def snapshot_of(tournament_id: int) -> dict:
    return snapshots.take(Room.tournament(tournament_id)).document


def check(tournament_id: int, action) -> None:
    """Run `action` between a snapshot and a fresh one, and compare what a client would show."""
    client = ReferenceClient(snapshot_of(tournament_id))
    action()
    flush_pending_batches(0)
    _, entries = history.history(tournament_id, selectors.match_ids(tournament_id))
    applied = [entry.frame for entry in entries if client.receive(entry.frame)]
    fresh = as_shown(snapshot_of(tournament_id))
    if not client.tournament["epoch"]:
        # Nothing had been published when the client joined: frames do not carry the epoch, so it
        # learns it from its next snapshot (a resume before then falls back to one).
        fresh["tournament"]["epoch"] = ""
    shown = client.shows()
    differences = [
        (section, mine, theirs)
        for section in ("tournament", "participants", "matches")
        for mine, theirs in zip(
            shown[section] if isinstance(shown[section], list) else [shown[section]],
            fresh[section] if isinstance(fresh[section], list) else [fresh[section]],
            strict=False,
        )
        if mine != theirs
    ]
    assert shown == fresh, f"after applying {applied}: client vs fresh snapshot differ in {differences[:3]}"


def slot(tournament_id: int, round_number: int, position: int) -> Match:
    return Match.objects.get(tournament_id=tournament_id, round=round_number, position=position)


@pytest.fixture
def cup(organizer) -> int:
    """Four players, bracket generated, nothing started."""
    return factories.tournament(organizer, 4, live=0).id


def test_generating_and_regenerating_the_bracket(organizer):
    tournament_id = factories.tournament(organizer, 5, bracket=False).id
    check(tournament_id, lambda: services.generate_bracket(tournament_id=tournament_id))
    check(tournament_id, lambda: services.generate_bracket(tournament_id=tournament_id))


def test_editing_the_tournament_and_its_participants(organizer):
    tournament_id = factories.tournament(organizer, 4, live=0).id
    check(tournament_id, lambda: services.update_tournament(tournament_id=tournament_id, name="Renamed", game="Go"))
    first = Participant.objects.get(tournament_id=tournament_id, seed=1).id
    check(tournament_id, lambda: services.update_participant(participant_id=first, name="Aurora"))
    check(tournament_id, lambda: services.update_participant(participant_id=first, seed=9))  # drawn again
    check(
        tournament_id, lambda: services.add_participants(tournament_id=tournament_id, entries=[NewParticipant("Zed")])
    )
    check(tournament_id, lambda: services.remove_participant(participant_id=first))


def test_starting_scoring_and_completing_up_to_the_champion(cup):
    semi1, semi2 = slot(cup, 1, 0).id, slot(cup, 1, 1).id
    check(cup, lambda: services.start_match(match_id=semi1))
    check(cup, lambda: services.update_score(match_id=semi1, participant1_score=2, participant2_score=1))
    # a pending score is published before the completion that follows it
    services.update_score(match_id=semi1, participant1_score=3, participant2_score=1)
    check(cup, lambda: services.complete_match(match_id=semi1, participant1_score=3, participant2_score=2))
    services.start_match(match_id=semi2)
    check(cup, lambda: services.complete_match(match_id=semi2, participant1_score=0, participant2_score=1))
    final = slot(cup, 2, 0).id
    check(cup, lambda: services.start_match(match_id=final))
    check(cup, lambda: services.complete_match(match_id=final, participant1_score=5, participant2_score=4))


def test_disputes_kept_and_corrected(cup, organizer):
    semi1, semi2 = slot(cup, 1, 0).id, slot(cup, 1, 1).id
    services.start_match(match_id=semi1)
    services.update_score(match_id=semi1, participant1_score=1, participant2_score=0)
    opened = []

    def dispute(match_id: int) -> None:
        opened.append(services.open_dispute(match_id=match_id, opened_by=organizer, reason="check the replay").id)

    def resolve(*scores: int) -> None:
        corrected = dict(zip(("participant1_score", "participant2_score"), scores, strict=False))
        services.resolve_dispute(dispute_id=opened[-1], resolved_by=organizer, resolution="checked", **corrected)

    check(cup, lambda: dispute(semi1))  # a live match
    check(cup, lambda: resolve())  # kept
    dispute(semi1)
    check(cup, lambda: resolve(1, 1))  # a live score corrected
    services.complete_match(match_id=semi1, participant1_score=3, participant2_score=1)
    check(cup, lambda: dispute(semi1))  # a completed match
    check(cup, lambda: resolve(1, 3))  # the other player won: the bracket changes
    services.start_match(match_id=semi2)
    services.complete_match(match_id=semi2, participant1_score=2, participant2_score=0)
    final = slot(cup, 2, 0).id
    services.start_match(match_id=final)
    services.complete_match(match_id=final, participant1_score=2, participant2_score=0)
    dispute(final)
    check(cup, lambda: resolve(0, 2))  # a new champion

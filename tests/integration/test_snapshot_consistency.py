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
from tournaments import groups, selectors, services
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
        for section in ("tournament", "participants", "standings", "matches")
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


def play(tournament_id: int, match: Match, side1_wins: bool = True) -> None:
    services.start_match(match_id=match.id)
    services.complete_match(
        match_id=match.id, participant1_score=int(side1_wins), participant2_score=int(not side1_wins)
    )


def test_groups_then_playoffs_their_tables_and_the_playoffs_seeded_and_unseeded(organizer):
    tournament = services.create_tournament(
        name="Groups", game="Go", organizer=organizer, participant_names=[f"P{n}" for n in range(1, 9)],
        format="round_robin", groups=2, playoffs=groups.Playoffs("single_elimination", 2),
    )  # fmt: skip
    check(tournament.id, lambda: services.generate_bracket(tournament_id=tournament.id))
    group_matches = list(Match.objects.filter(tournament=tournament, bracket="group").order_by("group", "round"))
    for match in group_matches[:-1]:
        check(tournament.id, lambda match=match: play(tournament.id, match, side1_wins=match.round % 2 == 1))
    last = group_matches[-1]
    check(tournament.id, lambda: play(tournament.id, last))  # the group stage is over: the playoffs are seeded
    semi = Match.objects.get(tournament=tournament, bracket="main", round=1, position=0)
    assert semi.participant1_id and semi.participant2_id
    check(tournament.id, lambda: services.reopen_match(match_id=last.id))  # ... and taken back out
    assert Match.objects.get(pk=semi.pk).participant1_id is None
    check(tournament.id, lambda: services.complete_match(match_id=last.id, participant1_score=0, participant2_score=1))
    for match in Match.objects.filter(tournament=tournament, bracket="main").order_by("round", "position"):
        check(tournament.id, lambda match=match: play(tournament.id, Match.objects.get(pk=match.pk)))


def test_a_double_elimination_whose_grand_final_is_played_again(organizer):
    tournament = services.create_tournament(
        name="Double", game="Go", organizer=organizer, participant_names=["A", "B", "C", "D"],
        format="double_elimination", grand_final_reset=True,
    )  # fmt: skip
    check(tournament.id, lambda: services.generate_bracket(tournament_id=tournament.id))
    for match in Match.objects.filter(tournament=tournament).exclude(bracket="grand_final").order_by("pk"):
        check(tournament.id, lambda match=match: play(tournament.id, Match.objects.get(pk=match.pk)))
    grand_final, reset = Match.objects.filter(tournament=tournament, bracket="grand_final").order_by("round")
    check(tournament.id, lambda: play(tournament.id, grand_final))  # side 1, the upper winner: no reset
    assert Match.objects.get(pk=reset.pk).state == Match.State.CANCELLED
    check(tournament.id, lambda: services.reopen_match(match_id=grand_final.id))
    check(tournament.id, lambda: services.complete_match(match_id=grand_final.id, participant1_score=0,
                                                         participant2_score=1))  # fmt: skip
    check(tournament.id, lambda: play(tournament.id, Match.objects.get(pk=reset.pk)))
    finished = selectors.tournament_state(tournament.id)["tournament"]
    assert finished["status"] == "completed" and finished["winner_id"] == Match.objects.get(pk=reset.pk).winner_id

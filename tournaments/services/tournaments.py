"""Tournaments, their participants, their roles, and their bracket."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import Permission
from django.db import transaction

from realtime import broadcast

from .. import bracket, results, selectors
from .. import groups as groups_module
from ..errors import Conflict, Invalid, NotFound
from ..models import Match, Participant, Tournament, TournamentRole
from ._rows import bracket_data, locked_tournament, participants_data, tournament_of


@dataclass(frozen=True)
class NewParticipant:
    name: str
    seed: int | None = None  # None: the next free seed
    username: str | None = None  # links a user: the participant may then dispute their matches


def allow_to_create_tournaments(user: AbstractBaseUser) -> None:
    """Make `user` an organizer account: one who may create tournaments (there is no open sign-up)."""
    user.user_permissions.add(Permission.objects.get(content_type__app_label="tournaments", codename="add_tournament"))


def create_tournament(
    *,
    name: str,
    game: str,
    organizer: AbstractBaseUser,
    participant_names: Sequence[str] = (),
    visibility: str = Tournament.Visibility.PUBLIC,
    format: str = Tournament.Format.SINGLE_ELIMINATION,  # noqa: A002 - the API's word
    best_of: int = 1,
    final_best_of: int = 1,
    third_place_match: bool = False,
    grand_final_reset: bool = False,
    groups: int | None = None,
    playoffs: groups_module.Playoffs | None = None,
) -> Tournament:
    """A tournament in registration, `organizer` its organizer, with the named participants seeded in order.

    `groups` and `playoffs` are a round robin's; `third_place_match` is for a single-elimination
    bracket (or playoffs), `grand_final_reset` for a double-elimination one."""
    for field, value in (("best_of", best_of), ("final_best_of", final_best_of)):
        try:
            results.check_best_of(value)
        except ValueError as error:
            raise Invalid(f"{field}: {error}.", field=field) from None
    _check_format(format, third_place_match, grand_final_reset, groups, playoffs)
    with transaction.atomic():
        tournament = Tournament.objects.create(
            name=name, game=game, visibility=visibility, format=format, best_of=best_of,
            final_best_of=final_best_of, third_place_match=third_place_match, grand_final_reset=grand_final_reset,
            groups=groups or 1, playoff_format=playoffs.format if playoffs else "",
            advance_per_group=playoffs.advance_per_group if playoffs else None,
        )  # fmt: skip
        TournamentRole.objects.create(tournament=tournament, user=organizer, role=TournamentRole.Role.ORGANIZER)
        broadcast.officials_changed(tournament_id=tournament.id)
        _add(tournament, [NewParticipant(name=participant_name) for participant_name in participant_names])
    return tournament


def _check_format(
    format: str,  # noqa: A002 - the API's word
    third_place_match: bool,
    grand_final_reset: bool,
    group_count: int | None,
    playoffs: groups_module.Playoffs | None,
) -> None:
    """The options that go with the format (sizes are checked when the bracket is drawn)."""
    if format not in Tournament.Format.values:
        raise Invalid(f"Format {format!r} is not one of {', '.join(Tournament.Format.values)}.", field="format")
    round_robin = format == Tournament.Format.ROUND_ROBIN
    if (group_count is not None or playoffs is not None) and not round_robin:
        raise Invalid(
            "groups and playoffs are a round robin's options.", field="groups" if playoffs is None else "playoffs"
        )
    if round_robin and (group_count or 1) > 1 and playoffs is None:
        raise Invalid("Several groups need playoffs to decide one champion.", field="playoffs")
    bracket_format = playoffs.format if playoffs is not None else format
    if third_place_match and bracket_format != Tournament.Format.SINGLE_ELIMINATION:
        raise Invalid("A third-place match is for a single-elimination bracket.", field="third_place_match")
    if grand_final_reset and bracket_format != Tournament.Format.DOUBLE_ELIMINATION:
        raise Invalid("A grand final reset is for a double-elimination bracket.", field="grand_final_reset")
    if playoffs is not None and playoffs.format not in (
        groups_module.SINGLE_ELIMINATION,
        groups_module.DOUBLE_ELIMINATION,
    ):
        raise Invalid("Playoffs are single_elimination or double_elimination.", field="playoffs")


def update_tournament(
    *, tournament_id: int, name: str | None = None, game: str | None = None, visibility: str | None = None
) -> Tournament:
    with transaction.atomic():
        tournament = locked_tournament(tournament_id)
        changes = {"name": name, "game": game, "visibility": visibility}
        if not any(value is not None for value in changes.values()):
            return tournament
        for field, value in changes.items():
            if value is not None:
                setattr(tournament, field, value)
        tournament.save(update_fields=[field for field, value in changes.items() if value is not None])
        _announce_tournament(tournament)
    return tournament


def _announce_tournament(tournament: Tournament) -> None:
    """Its name, and a change of who may watch: connections check their access again."""
    broadcast.tournament_updated(
        tournament_id=tournament.id,
        match_ids=list(tournament.matches.values_list("id", flat=True)),
        name=tournament.name,
        game=tournament.game,
        visibility=tournament.visibility,
    )


def delete_tournament(*, tournament_id: int) -> None:
    """Refused once a match has started: results are kept."""
    with transaction.atomic():
        tournament = locked_tournament(tournament_id)
        _check_no_match_started(tournament, "delete the tournament")
        tournament.matches.all().delete()
        tournament.delete()


def generate_bracket(*, tournament_id: int) -> list[Match]:
    """(Re)generate the tournament's bracket; refused once a match has started."""
    with transaction.atomic():
        tournament = locked_tournament(tournament_id)
        if tournament.status == Tournament.Status.COMPLETED:
            raise Conflict("The tournament is completed.")
        _check_no_match_started(tournament, "regenerate the bracket")
        return _regenerate(tournament)


def _check_no_match_started(tournament: Tournament, what: str) -> None:
    if tournament.matches.exclude(state=Match.State.SCHEDULED).exists():
        raise Conflict(f"A match has already started: you can no longer {what}.")


def _regenerate(tournament: Tournament) -> list[Match]:
    participants = sorted(tournament.participants.all(), key=lambda p: p.seed)
    try:
        planned = plan_of(tournament, len(participants))
    except ValueError as error:
        raise Invalid(f"{str(error).capitalize()}; this tournament has {len(participants)} participants.") from None
    by_rank = dict(enumerate(participants, start=1))
    tournament.matches.all().delete()
    matches = Match.objects.bulk_create(
        Match(
            tournament=tournament,
            bracket=match.bracket,
            group=match.group,
            round=match.round,
            position=match.position,
            best_of=tournament.final_best_of if match.is_final or match.reset_of is not None else tournament.best_of,
            participant1=None if match.from_standings else by_rank.get(match.seed1),
            participant2=None if match.from_standings else by_rank.get(match.seed2),
            seed1=match.seed1 if match.from_standings else None,
            seed2=match.seed2 if match.from_standings else None,
        )
        for match in planned
    )
    for match, plan in zip(matches, planned, strict=True):  # the edges, now that every match has an id
        for edge, field in ((plan.winner_to, "winner_to"), (plan.loser_to, "loser_to")):
            if edge is not None:
                setattr(match, f"{field}_id", matches[edge.to].id)
                setattr(match, f"{field}_slot", edge.slot)
        if plan.reset_of is not None:
            match.reset_of_id = matches[plan.reset_of].id
    Match.objects.bulk_update(matches, ["winner_to", "winner_to_slot", "loser_to", "loser_to_slot", "reset_of"])
    tournament.status = Tournament.Status.ONGOING
    tournament.save(update_fields=["status"])
    broadcast.bracket_generated(
        tournament_id=tournament.id,
        matches=bracket_data(tournament.id),
        participants=participants_data(tournament.id),
    )
    if tournament.format == Tournament.Format.ROUND_ROBIN:  # the new groups' tables, nothing played yet
        broadcast.standings_updated(tournament_id=tournament.id, groups=selectors.standings_data(tournament.id))
    return matches


def plan_of(tournament: Tournament, participant_count: int) -> list[bracket.PlannedMatch]:
    """The matches the tournament's format draws for `participant_count`; ValueError naming the rule
    if the format does not allow that many."""
    if tournament.format == Tournament.Format.ROUND_ROBIN:
        playoffs = playoffs_of(tournament)
        return groups_module.plan(
            participant_count, tournament.groups, playoffs,
            third_place=tournament.third_place_match, bracket_reset=tournament.grand_final_reset,
        )  # fmt: skip
    if tournament.format == Tournament.Format.DOUBLE_ELIMINATION:
        return bracket.double_elimination_plan(participant_count, bracket_reset=tournament.grand_final_reset)
    return bracket.plan(participant_count, third_place=tournament.third_place_match)


def playoffs_of(tournament: Tournament) -> groups_module.Playoffs | None:
    if not tournament.playoff_format:
        return None
    return groups_module.Playoffs(tournament.playoff_format, tournament.advance_per_group)


def _after_participants_changed(tournament: Tournament, *, redraw: bool) -> None:
    """With `redraw` (the bracket was drawn, and who plays or their seeds changed; no match has
    started), the bracket is drawn again, or removed when too few are left. Spectators learn the
    new list either way."""
    participants = participants_data(tournament.id)
    if not redraw:
        broadcast.participants_updated(tournament_id=tournament.id, participants=participants)
    elif len(participants) >= bracket.MIN_PARTICIPANTS:
        _regenerate(tournament)
    else:
        tournament.matches.all().delete()
        tournament.status = Tournament.Status.REGISTRATION
        tournament.save(update_fields=["status"])
        broadcast.bracket_generated(tournament_id=tournament.id, matches=[], participants=participants)


def _user_by_username(username: str | None) -> AbstractBaseUser | None:
    if username is None:
        return None
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise Invalid(f"There is no user {username!r}.", field="username")
    return user


def _add(tournament: Tournament, entries: Sequence[NewParticipant]) -> list[Participant]:
    existing = {p.name: p for p in tournament.participants.all()}
    seeds = {p.seed for p in existing.values()}
    created = []
    for entry in entries:
        if entry.name in existing:
            raise Conflict(f"There is already a participant named {entry.name!r}.", field="name")
        seed = entry.seed if entry.seed is not None else max(seeds, default=0) + 1
        if seed in seeds:
            raise Conflict(f"Seed {seed} is taken.", field="seed")
        participant = Participant.objects.create(
            tournament=tournament, name=entry.name, seed=seed, user=_user_by_username(entry.username)
        )
        existing[entry.name] = participant
        seeds.add(seed)
        created.append(participant)
    return created


def add_participants(*, tournament_id: int, entries: Sequence[NewParticipant]) -> list[Participant]:
    """Register participants; refused once a match has started (a drawn bracket is drawn again)."""
    with transaction.atomic():
        tournament = locked_tournament(tournament_id)
        _check_no_match_started(tournament, "add participants")
        if tournament.participants.count() + len(entries) > bracket.MAX_PARTICIPANTS:
            raise Invalid(f"A tournament has at most {bracket.MAX_PARTICIPANTS} participants.")
        created = _add(tournament, entries)
        _after_participants_changed(tournament, redraw=tournament.matches.exists())
    return created


_UNCHANGED = object()


def update_participant(
    *, participant_id: int, name: str | None = None, seed: int | None = None, username: str | None | object = _UNCHANGED
) -> Participant:
    """Rename or link to a user (any time; `username=None` unlinks), reseed (while no match has started)."""
    with transaction.atomic():
        tournament = locked_tournament(tournament_of(Participant, participant_id))
        participant = _locked_participant(participant_id)
        others = tournament.participants.exclude(pk=participant.pk)
        reseeded = seed is not None and seed != participant.seed
        if reseeded:
            _check_no_match_started(tournament, "reseed")
            if others.filter(seed=seed).exists():
                raise Conflict(f"Seed {seed} is taken.", field="seed")
            participant.seed = seed
        if name is not None and name != participant.name:
            if others.filter(name=name).exists():
                raise Conflict(f"There is already a participant named {name!r}.", field="name")
            participant.name = name
        if username is not _UNCHANGED:
            participant.user = _user_by_username(username)
        participant.save()
        _after_participants_changed(tournament, redraw=reseeded and tournament.matches.exists())
        if username is not _UNCHANGED and not tournament.is_public:
            _announce_tournament(tournament)  # an unlinked player may no longer watch
    return participant


def remove_participant(*, participant_id: int) -> None:
    with transaction.atomic():
        tournament = locked_tournament(tournament_of(Participant, participant_id))
        participant = _locked_participant(participant_id)
        _check_no_match_started(tournament, "remove participants")
        drawn = tournament.matches.exists()
        tournament.matches.all().delete()  # their slots hold the participant: drawn again below
        participant.delete()
        _after_participants_changed(tournament, redraw=drawn)
        if not tournament.is_public:
            _announce_tournament(tournament)


def _locked_participant(participant_id: int) -> Participant:
    participant = Participant.objects.select_for_update(of=("self",)).filter(pk=participant_id).order_by().first()
    if participant is None:
        raise NotFound(f"Participant {participant_id} does not exist.")
    return participant


def grant_role(*, tournament_id: int, username: str, role: str) -> TournamentRole:
    if role not in TournamentRole.Role.values:
        raise Invalid(f"A role is organizer or referee, not {role!r}.", field="role")
    with transaction.atomic():
        tournament = locked_tournament(tournament_id)
        user = _user_by_username(username)
        granted, _ = TournamentRole.objects.get_or_create(tournament=tournament, user=user, role=role)
        broadcast.officials_changed(tournament_id=tournament.id)
    return granted


def revoke_role(*, tournament_id: int, username: str, role: str | None = None) -> None:
    """Take `username`'s role (or every role) in the tournament; it always keeps one organizer."""
    with transaction.atomic():
        tournament = locked_tournament(tournament_id)
        roles = TournamentRole.objects.filter(tournament=tournament, user__username=username)
        if role is not None:
            roles = roles.filter(role=role)
        if not roles.exists():
            raise NotFound(f"{username!r} has no such role in this tournament.")
        organizers = TournamentRole.objects.filter(tournament=tournament, role=TournamentRole.Role.ORGANIZER)
        if not organizers.exclude(pk__in=roles.values("pk")).exists():
            raise Conflict("A tournament always keeps one organizer: name another one first.", field="username")
        roles.delete()
        broadcast.officials_changed(tournament_id=tournament.id)
        if not tournament.is_public:
            _announce_tournament(tournament)  # a former official may no longer watch

"""Read side of the domain: who may see what, and the state of a tournament in the database.

Nothing here knows about Redis: realtime adds sequences, published scores and viewers to these
documents itself (realtime/live_fields.py), for the API and for WebSocket snapshots.
"""

from __future__ import annotations

from django.db.models import Q

from . import groups, results
from .models import Dispute, Match, Participant, Tournament, TournamentRole

DECIDED = (Match.State.COMPLETED, Match.State.DISPUTED)


def is_member(tournament: Tournament, user) -> bool:
    """Organizers, referees and registered participants of this tournament."""
    if user is None or not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    return (
        TournamentRole.objects.filter(tournament=tournament, user=user).exists()
        or Participant.objects.filter(tournament=tournament, user=user).exists()
    )


def has_role(tournament_id: int, user, *roles: str) -> bool:
    if user is None or not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    return TournamentRole.objects.filter(tournament_id=tournament_id, user=user, role__in=roles).exists()


def can_watch(tournament: Tournament, user) -> bool:
    return tournament.is_public or is_member(tournament, user)


def visible_tournaments(user):
    tournaments = Tournament.objects.all()
    if user is not None and user.is_authenticated and user.is_superuser:
        return tournaments
    if user is None or not user.is_authenticated:
        return tournaments.filter(visibility=Tournament.Visibility.PUBLIC)
    return tournaments.filter(
        Q(visibility=Tournament.Visibility.PUBLIC) | Q(roles__user=user) | Q(participants__user=user)
    ).distinct()


def watchable_tournament(tournament_id: int, user) -> Tournament | None:
    """The tournament if `user` may watch it; None if it does not exist *or* is private to others:
    an outsider learns nothing about a private tournament, not even that it exists."""
    tournament = Tournament.objects.filter(pk=tournament_id).first()
    return tournament if tournament is not None and can_watch(tournament, user) else None


def can_watch_tournament(tournament_id: int, user) -> bool:
    return watchable_tournament(tournament_id, user) is not None


def watchable_match(match_id: int, user) -> Match | None:
    """The match (with its tournament) if `user` may watch it; None if it does not exist or is private to others."""
    match = Match.objects.select_related("tournament").filter(pk=match_id).first()
    return match if match is not None and can_watch(match.tournament, user) else None


def can_watch_match(match_id: int, user) -> bool:
    return watchable_match(match_id, user) is not None


def _tournament_data(tournament: Tournament) -> dict:
    return {
        "id": tournament.id,
        "name": tournament.name,
        "game": tournament.game,
        "format": tournament.format,
        "visibility": tournament.visibility,
        "status": tournament.status,
        "winner_id": tournament.winner_id,
        "best_of": tournament.best_of,
        "final_best_of": tournament.final_best_of,
        "third_place_match": tournament.third_place_match,
        "third_place_id": tournament.third_place_id,
        "grand_final_reset": tournament.grand_final_reset,
        "groups": tournament.groups,
        "playoffs": (
            {"format": tournament.playoff_format, "advance_per_group": tournament.advance_per_group}
            if tournament.playoff_format
            else None
        ),
    }


def participant_data(participant: Participant) -> dict:
    """A participant as snapshots, documents and participants_updated frames carry it."""
    return {
        "id": participant.id,
        "name": participant.name,
        "seed": participant.seed,
        "disqualified": participant.disqualified_at is not None,
    }


def games_data(match: Match) -> list[dict]:
    """The match's completed games, then the one being played (its live score is the match's)."""
    games = [
        {
            "number": game.number,
            "participant1_score": game.participant1_score,
            "participant2_score": game.participant2_score,
            "winner_id": game.winner_id,
            "state": "completed",
        }
        for game in match.games.all()
    ]
    if match.state == Match.State.LIVE or (match.state == Match.State.DISPUTED and not match.is_over):
        games.append(
            {
                "number": match.game,
                "participant1_score": match.participant1_score,
                "participant2_score": match.participant2_score,
                "winner_id": None,
                "state": "live",
            }
        )
    return games


def _open_disputes(match_filter: Q) -> dict[int, dict]:
    """match id -> {"id", "reason"} of its open dispute (at most one per match)."""
    disputes = Dispute.objects.filter(match_filter, status=Dispute.Status.OPEN).values("id", "reason", "match_id")
    return {dispute["match_id"]: {"id": dispute["id"], "reason": dispute["reason"]} for dispute in disputes}


def _match_data(match: Match, open_disputes: dict[int, dict]) -> dict:
    return {
        "id": match.id,
        "bracket": match.bracket,
        "group": match.group,
        "round": match.round,
        "position": match.position,
        "best_of": match.best_of,
        "state": match.state,
        "participant1_id": match.participant1_id,
        "participant2_id": match.participant2_id,
        "participant1_score": match.participant1_score,
        "participant2_score": match.participant2_score,
        "score_version": match.score_version,
        "winner_id": match.winner_id,
        "game": match.game,
        "series": match.series,
        "games": games_data(match),
        "forfeit": match.forfeit,
        "forfeited_by_id": match.forfeited_by_id,
        "reset_of_id": match.reset_of_id,
        "version": match.version,
        "dispute": open_disputes.get(match.id),
    }


def group_results(matches: list[Match], outcomes: dict[int, results.Outcome] | None = None) -> list[groups.Result]:
    """The decided group matches as the standings count them: a walkover (in `outcomes`, not yet
    in the database) counts as a win with no games."""
    decided = []
    for match in matches:
        if match.bracket != Match.Bracket.GROUP:
            continue
        if match.state in DECIDED and match.winner_id is not None:
            decided.append(groups.Result(match.participant1_id, match.participant2_id, match.winner_id, *match.series))
        elif outcomes is not None and (outcome := outcomes.get(match.id)) is not None and not outcome.cancelled:
            decided.append(groups.Result(match.participant1_id, match.participant2_id, outcome.winner, 0, 0))
    return decided


def group_tables(matches: list[Match], decided: list[groups.Result], seed_of: dict[int, int]) -> dict[int, list]:
    """group -> its standings (groups.Standing), first place first."""
    members: dict[int, set[int]] = {}
    for match in matches:
        if match.bracket == Match.Bracket.GROUP:
            members.setdefault(match.group, set()).update(
                p for p in (match.participant1_id, match.participant2_id) if p
            )
    return {
        group: groups.standings(sorted(ids, key=seed_of.__getitem__), decided) for group, ids in sorted(members.items())
    }


def seeds_of(tournament_id: int) -> dict[int, int]:
    """participant id -> seed."""
    return dict(Participant.objects.filter(tournament_id=tournament_id).values_list("id", "seed"))


def standings_data(tournament_id: int) -> list[dict]:
    """Each group's table, as the standings endpoint, documents and standings_updated frames carry
    it: `[{"group": 1, "standings": [{"participant_id", "played", "wins", ...}, ...]}, ...]`
    (empty for a format without groups)."""
    matches = list(Match.objects.filter(tournament_id=tournament_id, bracket=Match.Bracket.GROUP))
    if not matches:
        return []
    return [
        {
            "group": group,
            "standings": [
                {
                    "participant_id": s.participant,
                    "played": s.played,
                    "wins": s.wins,
                    "losses": s.losses,
                    "games_won": s.games_won,
                    "games_lost": s.games_lost,
                    "game_difference": s.game_difference,
                }  # fmt: skip
                for s in table
            ],
        }
        for group, table in group_tables(matches, group_results(matches), seeds_of(tournament_id)).items()
    ]


def tournament_of_match(match_id: int) -> int:
    return Match.objects.values_list("tournament_id", flat=True).get(pk=match_id)


def tournament_of_match_or_none(match_id: int) -> int | None:
    return Match.objects.filter(pk=match_id).values_list("tournament_id", flat=True).first()


def official_ids(tournament_id: int) -> list[int]:
    """Users with a role in the tournament: who may run its matches and post their scores."""
    return sorted(set(TournamentRole.objects.filter(tournament_id=tournament_id).values_list("user_id", flat=True)))


def match_ids(tournament_id: int) -> list[int]:
    return list(Match.objects.filter(tournament_id=tournament_id).values_list("id", flat=True))


def tournament_state(tournament_id: int) -> dict:
    """The tournament, its participants and its matches as the database holds them now."""
    tournament = Tournament.objects.get(pk=tournament_id)
    disputes = _open_disputes(Q(match__tournament_id=tournament_id))
    matches = Match.objects.filter(tournament_id=tournament_id).prefetch_related("games")
    return {
        "tournament": _tournament_data(tournament),
        "participants": [participant_data(p) for p in tournament.participants.all()],
        "standings": standings_data(tournament_id),
        "matches": [_match_data(m, disputes) for m in matches],
    }


def match_state(match_id: int) -> dict:
    """One match with its tournament and its two participants, as the database holds them now."""
    match = (
        Match.objects.select_related("tournament", "participant1", "participant2")
        .prefetch_related("games")
        .get(pk=match_id)
    )
    return {
        "tournament": _tournament_data(match.tournament),
        "participants": [participant_data(p) for p in (match.participant1, match.participant2) if p],
        "match": _match_data(match, _open_disputes(Q(match_id=match_id))),
    }


# --- The console (tournaments/console.py): what officials see -----------------------------------

OFFICIAL_ROLES = (TournamentRole.Role.ORGANIZER, TournamentRole.Role.REFEREE)
_STATE_ORDER = {Match.State.LIVE: 0, Match.State.DISPUTED: 1, Match.State.SCHEDULED: 2, Match.State.COMPLETED: 3}


def official_roles(tournament_id: int, user) -> frozenset[str]:
    """The roles `user` holds in this tournament (organizer, referee); a superuser holds both."""
    if user is None or not user.is_authenticated:
        return frozenset()
    if user.is_superuser:
        return frozenset(OFFICIAL_ROLES)
    return frozenset(
        TournamentRole.objects.filter(tournament_id=tournament_id, user=user).values_list("role", flat=True)
    )


def officiated_tournaments(user, limit: int = 100) -> list[tuple[Tournament, list[str]]]:
    """The tournaments `user` organizes or referees, newest first, each with the user's roles in it.

    A superuser officiates every tournament (see `has_role`), so sees them all."""
    if user is None or not user.is_authenticated:
        return []
    roles: dict[int, list[str]] = {}
    for tournament_id, role in TournamentRole.objects.filter(user=user).values_list("tournament_id", "role"):
        roles.setdefault(tournament_id, []).append(role)
    tournaments = Tournament.objects.all() if user.is_superuser else Tournament.objects.filter(pk__in=roles)
    return [(tournament, sorted(roles.get(tournament.id, []))) for tournament in tournaments[:limit]]


def officiated_tournament(tournament_id: int, user) -> tuple[Tournament, frozenset[str]] | None:
    """The tournament and the user's roles in it; None if it does not exist or the user is no official."""
    roles = official_roles(tournament_id, user)
    tournament = Tournament.objects.filter(pk=tournament_id).first() if roles else None
    return (tournament, roles) if tournament is not None else None


def officiated_match(match_id: int, user) -> tuple[Match, frozenset[str]] | None:
    """The match (with its tournament and participants) and the user's roles in its tournament; None
    if it does not exist or the user is no official of its tournament."""
    match = Match.objects.select_related("tournament", "participant1", "participant2").filter(pk=match_id).first()
    if match is None:
        return None
    roles = official_roles(match.tournament_id, user)
    return (match, roles) if roles else None


def console_matches(tournament_id: int) -> list[Match]:
    """A tournament's matches as the console lists them: live first, then disputed, scheduled,
    completed; by round and position within each."""
    matches = Match.objects.filter(tournament_id=tournament_id).select_related("participant1", "participant2")
    return sorted(matches, key=lambda m: (_STATE_ORDER.get(m.state, 9), m.round, m.position))


def open_dispute_of(match_id: int) -> dict | None:
    """`{"id", "reason"}` of the match's open dispute (there is at most one), or None."""
    return _open_disputes(Q(match_id=match_id)).get(match_id)


def tournament_officials(tournament_id: int) -> list[dict]:
    """`[{"username", "role"}, ...]` of a tournament, organizers first."""
    rows = TournamentRole.objects.filter(tournament_id=tournament_id).values_list("user__username", "role")
    return [
        {"username": username, "role": role}
        for username, role in sorted(rows, key=lambda row: (row[1] != TournamentRole.Role.ORGANIZER, row[0]))
    ]


def player_user_ids(match: Match) -> set[int]:
    """Users registered as one of the match's two participants."""
    ids = Participant.objects.filter(pk__in=[match.participant1_id, match.participant2_id], user__isnull=False)
    return set(ids.values_list("user_id", flat=True))


def may_create_tournaments(user) -> bool:
    """Organizers (`manage.py create_organizer`) and superusers."""
    return user is not None and user.is_authenticated and user.has_perm("tournaments.add_tournament")


def listed_tournaments(user, status: str | None = None):
    """Public tournaments and those where `user` has a role or plays, newest first."""
    tournaments = visible_tournaments(user)
    return tournaments.filter(status=status) if status else tournaments


def roles_of(user, tournament_ids: list[int]) -> dict[int, list[str]]:
    """tournament id -> the user's parts in it: "organizer", "referee", "participant"."""
    parts: dict[int, list[str]] = {tournament_id: [] for tournament_id in tournament_ids}
    if user is None or not user.is_authenticated:
        return parts
    roles = TournamentRole.objects.filter(user=user, tournament_id__in=tournament_ids).values_list(
        "tournament_id", "role"
    )
    for tournament_id, role in roles:
        parts[tournament_id].append(role)
    playing = Participant.objects.filter(user=user, tournament_id__in=tournament_ids).values_list(
        "tournament_id", flat=True
    )
    for tournament_id in playing:
        parts[tournament_id].append("participant")
    return parts


def tournament_matches(tournament_id: int) -> list[Match]:
    """A tournament's matches, without their participants."""
    return list(Match.objects.filter(tournament_id=tournament_id).only("id", "bracket", "group", "round", "reset_of"))


def tournament_participants(tournament_id: int) -> list[Participant]:
    """A tournament's participants by seed."""
    return list(Participant.objects.filter(tournament_id=tournament_id).order_by("seed"))

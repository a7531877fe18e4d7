"""Write side of the domain: every state change goes through one of these functions.

Each runs in a transaction, locks the rows two requests could race on, and tells spectators
through `realtime.broadcast` (which publishes only after the transaction commits). Each refuses
what the rules refuse with a `tournaments.errors` exception, having changed nothing.

- `tournaments`: tournaments, participants, roles, the bracket;
- `live_scores`: live scores, Redis first (one round trip; the database about once a second);
- `matches`: start, games and series, forfeits, disqualifications, reopening a result;
- `progress`: what a result carries forward (the bracket kept equal to the replay of its results);
- `disputes`: who may dispute what, and resolving (keeping or correcting a result).
"""

from .disputes import open_dispute, resolve_dispute
from .live_scores import adjust_score, update_score
from .matches import complete_game, complete_match, disqualify, forfeit_match, reopen_match, start_match
from .tournaments import (
    add_participants,
    allow_to_create_tournaments,
    create_tournament,
    delete_tournament,
    generate_bracket,
    grant_role,
    remove_participant,
    revoke_role,
    update_participant,
    update_tournament,
)

__all__ = [
    "add_participants",
    "adjust_score",
    "allow_to_create_tournaments",
    "complete_game",
    "complete_match",
    "create_tournament",
    "delete_tournament",
    "disqualify",
    "forfeit_match",
    "generate_bracket",
    "grant_role",
    "open_dispute",
    "remove_participant",
    "reopen_match",
    "resolve_dispute",
    "revoke_role",
    "start_match",
    "update_participant",
    "update_score",
    "update_tournament",
]

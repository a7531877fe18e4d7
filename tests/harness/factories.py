"""The one way tests build what they play with: users with tokens, and tournaments in any stage.

Through the services, like every other write, so the realtime state follows (events are published
after commit: tests that watch them use `django_db(transaction=True)`). Sync code (ORM).
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token

from tournaments import services
from tournaments.models import Match, Tournament


def user_with_token(username: str):
    """A user whose API token is `user.api_token`."""
    user = get_user_model().objects.create_user(username=username)
    user.api_token = Token.objects.create(user=user).key
    return user


def tournament(
    organizer,
    participants: int = 8,
    *,
    bracket: bool = True,
    live: int | None = None,
    name: str = "Test Cup",
    visibility: str = Tournament.Visibility.PUBLIC,
    best_of: int = 1,
    final_best_of: int = 1,
) -> Tournament:
    """A tournament of `participants` (named P1, P2, …, seeded in that order), its matches best-of
    `best_of` series and its final best-of `final_best_of`.

    With `bracket` its bracket is generated; `live` first-round matches are then started, in bracket
    order (None: all of them, 0: none).
    """
    created = services.create_tournament(
        name=name,
        game="Chess",
        organizer=organizer,
        participant_names=[f"P{seed}" for seed in range(1, participants + 1)],
        visibility=visibility,
        best_of=best_of,
        final_best_of=final_best_of,
    )
    if bracket:
        services.generate_bracket(tournament_id=created.id)
        playable = created.matches.filter(round=1, participant1__isnull=False, participant2__isnull=False)
        for match in playable.order_by("position")[:live]:
            services.start_match(match_id=match.id)
    return created


def first_live_match(of: Tournament) -> Match:
    """The first live match of a tournament's bracket."""
    return of.matches.filter(state="live").order_by("round", "position").first()

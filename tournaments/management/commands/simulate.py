"""Play a tournament live through the HTTP API, like game servers and referees would.

Starts every match that is ready and plays its best-of-N series game by game: posts random score
changes to each live match at --rate per second, ends the game being played after --game-seconds
(never a tie), and goes on with the next game until a side has won the series. Round by round, and
the third-place match, until the tournament is completed (or --timeout passes). A best-of-1 match
is one game. Defaults to the demo tournament and its organizer's token.
"""

from __future__ import annotations

import logging
import os
import random
import time
from dataclasses import dataclass

import httpx
from django.core.management.base import BaseCommand, CommandError, CommandParser
from rest_framework.authtoken.models import Token

from tournaments.models import Tournament

from .seed_demo import DEMO_NAME, DEMO_ORGANIZER

GOAL_CHANCE = 0.2  # most feed updates repeat the score; some are goals
RETRY_PAUSE_S = 0.5  # between those posts: an outage of a moment should not take all of them
ATTEMPTS = 3  # posts of one game's completion when the server does not answer (naming the game makes it safe)


@dataclass
class GameInPlay:
    """What this command plays of a live match: its current game, since when, and the score it posts."""

    number: int
    started_at: float
    score: list[int]


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--url", default=os.environ.get("SITE_URL", "http://127.0.0.1:8000"))
        parser.add_argument("--tournament", type=int, help="tournament id (default: the demo tournament)")
        parser.add_argument("--token", help="organizer or referee API token (default: the demo organizer's)")
        parser.add_argument("--rate", type=float, default=2.0, help="score updates per second per live match")
        parser.add_argument(
            "--game-seconds",
            "--match-seconds",  # its name from before series: a best-of-1 match is one game
            dest="game_seconds",
            type=float,
            default=25.0,
            help="how long each game is played (a best-of-1 match is one game; --match-seconds: its old name)",
        )
        parser.add_argument("--timeout", type=float, default=1800.0, help="give up after this many seconds")
        parser.add_argument("--seed", type=int, help="random seed, for a reproducible game")
        parser.add_argument("--stay", action="store_true", help="keep running once done (for process runners)")

    def handle(self, *args, **options) -> None:
        tournament_id, token = self.target(options)
        logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per request would drown the game's log
        self.rng = random.Random(options["seed"])
        self.client = httpx.Client(
            base_url=options["url"].rstrip("/"), headers={"Authorization": f"Token {token}"}, timeout=10
        )
        self.wait_for_server(tournament_id)
        self.stdout.write(
            f"simulating tournament {tournament_id}; watch it at {self.client.base_url}/tournaments/{tournament_id}/"
        )
        self.play(tournament_id, rate=options["rate"], game_seconds=options["game_seconds"], timeout=options["timeout"])
        if options["stay"]:
            self.stdout.write("simulation over; idle until stopped")
            while True:
                time.sleep(3600)

    def target(self, options: dict) -> tuple[int, str]:
        if options["tournament"] and options["token"]:
            return options["tournament"], options["token"]
        demo = Tournament.objects.filter(name=DEMO_NAME, roles__user__username=DEMO_ORGANIZER).first()
        token = Token.objects.filter(user__username=DEMO_ORGANIZER).first()
        if demo is None or token is None:
            raise CommandError("No demo tournament: run `manage.py seed_demo`, or pass --tournament and --token.")
        return options["tournament"] or demo.id, options["token"] or token.key

    def wait_for_server(self, tournament_id: int, patience: float = 60) -> None:
        deadline = time.monotonic() + patience
        while True:
            try:
                if self.client.get(f"/api/tournaments/{tournament_id}/").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise CommandError(f"{self.client.base_url} did not answer within {patience:.0f}s")
            time.sleep(0.5)

    # --- HTTP: no answer, or an error, is logged and never stops the simulation ------------------------------

    def document(self, tournament_id: int) -> dict | None:
        """The tournament document, or None if the server did not give it (the next tick asks again)."""
        path = f"/api/tournaments/{tournament_id}/"
        try:
            response = self.client.get(path)
        except httpx.TransportError as error:
            self.stderr.write(f"GET {path} -> {error!r}")
            return None
        if response.status_code != 200:
            self.stderr.write(f"GET {path} -> {response.status_code} {response.text[:200]}")
            return None
        return response.json()

    def post(self, path: str, body: dict | None = None) -> httpx.Response | None:
        """The answer, or None if there was none (a timeout, a dropped connection)."""
        try:
            response = self.client.post(path, json=body)
        except httpx.TransportError as error:
            self.stderr.write(f"POST {path} -> {error!r}")
            return None
        if response.status_code >= 400 and response.status_code != 409:  # 409: somebody else moved first
            self.stderr.write(f"POST {path} -> {response.status_code} {response.text[:200]}")
        return response

    # --- The simulation: every tick reads the document and acts on what it says ------------------------------

    def play(self, tournament_id: int, *, rate: float, game_seconds: float, timeout: float) -> None:
        in_play: dict[int, GameInPlay] = {}  # match id -> its game being played
        self.updates = 0
        began = last_report = time.monotonic()
        tick = 1.0 / max(rate, 0.1)
        while time.monotonic() - began < timeout:
            state = self.document(tournament_id)
            if state is None:
                time.sleep(tick)
                continue
            names = {p["id"]: p["name"] for p in state["participants"]}
            if state["tournament"]["status"] == "completed":
                self.announce_podium(state["tournament"], names)
                return
            for match in state["matches"]:
                label = self.label(match, names)
                if match["state"] != "live":  # a reopened match is played again from what the document says
                    in_play.pop(match["id"], None)
                if match["state"] == "scheduled" and match["participant1_id"] and match["participant2_id"]:
                    response = self.post(f"/api/matches/{match['id']}/start/")
                    if response is not None and response.status_code == 200:
                        series = f"  best of {match['best_of']}" if match["best_of"] > 1 else ""
                        self.stdout.write(f"▶ started  {label}{series}")
                elif match["state"] == "live":
                    game = in_play.get(match["id"])
                    if game is None or game.number != match["game"]:  # a new game (0:0), or a match new to us
                        score = [match["participant1_score"], match["participant2_score"]]
                        game = in_play[match["id"]] = GameInPlay(match["game"], time.monotonic(), score)
                    if time.monotonic() - game.started_at < game_seconds:
                        self.post_score(match, game)
                    else:
                        self.end_game(match, game, label)
                # scheduled without both participants, disputed (held until resolved), completed, cancelled: wait
            if time.monotonic() - last_report >= 5:
                self.report(state, time.monotonic() - began)
                last_report = time.monotonic()
            time.sleep(tick)
        raise CommandError(f"the tournament did not finish within {timeout:.0f}s")

    def post_score(self, match: dict, game: GameInPlay) -> None:
        if self.rng.random() < GOAL_CHANCE:
            game.score[self.rng.randrange(2)] += 1
        # Naming the game: refused (409) once it is over, so a post that is late never writes into the next one.
        body = {"participant1_score": game.score[0], "participant2_score": game.score[1], "game": game.number}
        self.post(f"/api/matches/{match['id']}/score/", body)
        self.updates += 1

    def end_game(self, match: dict, game: GameInPlay, label: str) -> None:
        """Post the game's final score. Without an answer, post it again: naming the game, a retry of a
        completion that went through is refused (409) rather than ending the next game. On a 409 (that,
        or somebody else ended the game or disputed the match first) the next read of the document
        says where the match is."""
        if game.score[0] == game.score[1]:  # a game has a winner: break the tie
            game.score[self.rng.randrange(2)] += 1
        body = {"participant1_score": game.score[0], "participant2_score": game.score[1], "game": game.number}
        for _ in range(ATTEMPTS):
            response = self.post(f"/api/matches/{match['id']}/games/complete/", body)
            if response is not None and response.status_code == 200:
                self.announce_game(response.json(), label, best_of=match["best_of"])
                return
            if response is not None and response.status_code < 500:
                return  # 409 (see above), or refused (logged): the next tick reads the document again
            # no answer, or 503 (Redis or the database unavailable): retrying is safe, after a moment
            time.sleep(RETRY_PAUSE_S)

    # --- What the log says -----------------------------------------------------------------------------------

    def announce_game(self, result: dict, label: str, *, best_of: int) -> None:
        game = result["completed_game"]
        score = f"{game['participant1_score']}:{game['participant2_score']}"
        wins = "series {}:{}".format(*result["series"])
        if result["state"] == "completed":
            self.stdout.write(f"■ final    {label}  {score}" + (f"  {wins}" if best_of > 1 else ""))
        else:
            self.stdout.write(f"· game {game['number']}   {label}  {score}  {wins}")

    def announce_podium(self, tournament: dict, names: dict[int, str]) -> None:
        champion = names.get(tournament["winner_id"], "?")
        self.stdout.write(self.style.SUCCESS(f"🏆 {champion} wins {tournament['name']}"))
        if tournament.get("third_place_id"):
            self.stdout.write(f"🥉 {names.get(tournament['third_place_id'], '?')} takes third place")

    def report(self, state: dict, elapsed: float) -> None:
        matches = state["matches"]
        live = sum(m["state"] == "live" for m in matches)
        done = sum(m["state"] in ("completed", "cancelled") for m in matches)
        games = sum(g["state"] == "completed" for m in matches for g in m["games"])
        self.stdout.write(
            f"… {elapsed:4.0f}s  live {live}  completed {done}/{len(matches)}  games {games}  "
            f"score updates {self.updates} ({self.updates / elapsed:.1f}/s)"
        )

    @staticmethod
    def label(match: dict, names: dict[int, str]) -> str:
        first, second = names.get(match["participant1_id"], "TBD"), names.get(match["participant2_id"], "TBD")
        return f"{where_of(match)} {first} vs {second}"


def where_of(match: dict) -> str:
    """Where the match is drawn, briefly: R2M1, L3M2 (lower bracket), GF, G1 R2M1 (a group)."""
    place = f"R{match['round']}M{match['position'] + 1}"
    return {
        "third_place": "3rd place",
        "grand_final": "GF reset" if match.get("reset_of_id") else "GF",
        "lower": "L" + place[1:],
        "group": f"G{match.get('group')} {place}",
    }.get(match["bracket"], place)

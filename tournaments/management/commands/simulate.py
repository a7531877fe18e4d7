"""Play a tournament live through the HTTP API, like game servers and referees would.

Starts every match that is ready, posts random score changes to each live match at --rate per
second, completes a match after --match-seconds, and goes on round by round until the tournament
has a champion (or --timeout passes). Defaults to the demo tournament and its organizer's token.
"""

from __future__ import annotations

import os
import random
import time

import httpx
from django.core.management.base import BaseCommand, CommandError
from rest_framework.authtoken.models import Token

from tournaments.models import Tournament

from .seed_demo import DEMO_NAME, DEMO_ORGANIZER


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument("--url", default=os.environ.get("SITE_URL", "http://127.0.0.1:8000"))
        parser.add_argument("--tournament", type=int, help="tournament id (default: the demo tournament)")
        parser.add_argument("--token", help="organizer or referee API token (default: the demo organizer's)")
        parser.add_argument("--rate", type=float, default=2.0, help="score updates per second per live match")
        parser.add_argument("--match-seconds", type=float, default=25.0, help="how long each match is played")
        parser.add_argument("--timeout", type=float, default=1800.0, help="give up after this many seconds")
        parser.add_argument("--seed", type=int, help="random seed, for a reproducible game")
        parser.add_argument("--stay", action="store_true", help="keep running once done (for process runners)")

    def handle(self, *args, **options):
        tournament_id, token = self.target(options)
        self.rng = random.Random(options["seed"])
        self.client = httpx.Client(
            base_url=options["url"].rstrip("/"), headers={"Authorization": f"Token {token}"}, timeout=10
        )
        self.wait_for_server(tournament_id)
        self.stdout.write(
            f"simulating tournament {tournament_id}; watch it at {self.client.base_url}/tournaments/{tournament_id}/"
        )
        self.play(tournament_id, options)
        if options["stay"]:
            self.stdout.write("simulation over; idle until stopped")
            while True:
                time.sleep(3600)

    def target(self, options) -> tuple[int, str]:
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

    def post(self, path: str, body: dict | None = None) -> httpx.Response:
        response = self.client.post(path, json=body)
        if response.status_code >= 400 and response.status_code != 409:  # 409: somebody else moved first
            self.stderr.write(f"POST {path} -> {response.status_code} {response.text[:200]}")
        return response

    def play(self, tournament_id: int, options) -> None:
        started_at: dict[int, float] = {}
        scores: dict[int, list[int]] = {}
        names: dict[int, str] = {}
        updates = 0
        began = last_report = time.monotonic()
        tick = 1.0 / max(options["rate"], 0.1)
        while time.monotonic() - began < options["timeout"]:
            state = self.client.get(f"/api/tournaments/{tournament_id}/").json()
            names = {p["id"]: p["name"] for p in state["participants"]}
            if state["tournament"]["status"] == "completed":
                champion = names.get(state["tournament"]["winner_id"], "?")
                self.stdout.write(self.style.SUCCESS(f"🏆 {champion} wins {state['tournament']['name']}"))
                return
            for match in state["matches"]:
                match_id, label = match["id"], self.label(match, names)
                if match["state"] == "scheduled" and match["participant1_id"] and match["participant2_id"]:
                    if self.post(f"/api/matches/{match_id}/start/").status_code == 200:
                        started_at[match_id] = time.monotonic()
                        scores[match_id] = [0, 0]
                        self.stdout.write(f"▶ started  {label}")
                elif match["state"] == "live":
                    started_at.setdefault(match_id, time.monotonic())
                    score = scores.setdefault(match_id, [match["participant1_score"], match["participant2_score"]])
                    if time.monotonic() - started_at[match_id] >= options["match_seconds"]:
                        if score[0] == score[1]:
                            score[self.rng.randrange(2)] += 1
                        body = {"participant1_score": score[0], "participant2_score": score[1]}
                        if self.post(f"/api/matches/{match_id}/complete/", body).status_code == 200:
                            self.stdout.write(f"■ final    {label}  {score[0]}:{score[1]}")
                    else:
                        if self.rng.random() < 0.2:  # most feed updates repeat the score; some are goals
                            score[self.rng.randrange(2)] += 1
                        self.post(
                            f"/api/matches/{match_id}/score/",
                            {"participant1_score": score[0], "participant2_score": score[1]},
                        )
                        updates += 1
            if time.monotonic() - last_report >= 5:
                live = sum(m["state"] == "live" for m in state["matches"])
                done = sum(m["state"] == "completed" for m in state["matches"])
                elapsed = time.monotonic() - began
                self.stdout.write(
                    f"… {elapsed:4.0f}s  live {live}  completed {done}/{len(state['matches'])}  "
                    f"score updates {updates} ({updates / elapsed:.1f}/s)"
                )
                last_report = time.monotonic()
            time.sleep(tick)
        raise CommandError(f"the tournament did not finish within {options['timeout']:.0f}s")

    @staticmethod
    def label(match: dict, names: dict[int, str]) -> str:
        first, second = names.get(match["participant1_id"], "TBD"), names.get(match["participant2_id"], "TBD")
        return f"R{match['round']}M{match['position'] + 1} {first} vs {second}"

"""The client rules of docs/protocol.md in Python: what a tournament-room client shows.

The same rules as tournaments/static/tournaments/live-client.js (drop a frame whose sequence is not
above the last one applied for its stream) and live-page.js (how each event changes the page's
state). Tests use it to check that a snapshot plus the frames published after it always equals a
fresh snapshot: the page can never drift from the server.
"""

from __future__ import annotations

import copy
import json

MATCH_FIELDS_IN_BRACKET_FRAMES = (
    "round", "position", "state", "participant1_id", "participant2_id", "winner_id", "version",
)  # fmt: skip


class ReferenceClient:
    def __init__(self, snapshot: dict) -> None:
        """Start from a tournament snapshot's `data`."""
        self.tournament = {key: value for key, value in snapshot["tournament"].items() if key != "sequence"}
        self.participants = copy.deepcopy(snapshot["participants"])
        self.matches = {match["id"]: _without_sequence(match) for match in snapshot["matches"]}
        self.sequences = {f"t:{snapshot['tournament']['id']}": snapshot["tournament"]["sequence"]}
        self.sequences.update({f"m:{match['id']}": match["sequence"] for match in snapshot["matches"]})

    def receive(self, text: str) -> bool:
        """Apply one frame (JSON text); False if it was dropped as stale or duplicate."""
        frame = json.loads(text)
        data = frame["data"]
        stream = f"m:{data['match_id']}" if "match_id" in data else f"t:{data['tournament_id']}"
        if data["sequence"] <= self.sequences.get(stream, 0):
            return False
        self.sequences[stream] = data["sequence"]
        self._apply(frame["type"], data)
        return True

    def _apply(self, event: str, data: dict) -> None:
        match = self.matches.get(data.get("match_id"))
        if match is not None and data.get("version", match["version"]) < match["version"]:
            # A frame about the match's state built before a newer one that already arrived (a
            # bracket frame can carry that): its scores still apply, its state does not.
            if event == "score_updated":
                match.update(_scores(data))
            return
        if match is not None and "version" in data:
            match["version"] = data["version"]
        if event == "match_started":
            match["state"] = "live"
        elif event == "score_updated":
            match.update(_scores(data))
        elif event == "match_completed":
            match.update(state="completed", winner_id=data["winner_id"], **_scores(data))
        elif event == "dispute_created":
            match.update(state="disputed", dispute={"id": data["dispute_id"], "reason": data["reason"]})
        elif event == "dispute_resolved":
            match.update(state=data["state"], winner_id=data["winner_id"], dispute=None, **_scores(data))
        elif event == "bracket_generated":
            self.matches = {}
            self._merge(data["matches"])
            self.participants = copy.deepcopy(data["participants"])
            self.tournament["status"] = "ongoing" if data["matches"] else "registration"
        elif event == "bracket_updated":
            self._merge(data["matches"])
        elif event == "participants_updated":
            self.participants = copy.deepcopy(data["participants"])
        elif event == "tournament_updated":
            self.tournament.update({field: data[field] for field in ("name", "game", "visibility")})
        elif event == "tournament_completed":
            self.tournament.update(status="completed", winner_id=data["winner_id"])

    def _merge(self, matches: list[dict]) -> None:
        """Bracket entries: a match the client does not know yet, or a newer version of one it does."""
        for entry in matches:
            known = self.matches.get(entry["id"])
            if known is None:
                known = self.matches[entry["id"]] = {"id": entry["id"], "dispute": None, **_scores({})}
            elif entry["version"] <= known["version"]:
                continue
            known.update({field: entry[field] for field in MATCH_FIELDS_IN_BRACKET_FRAMES})

    def shows(self) -> dict:
        """What the page shows, in the shape of a snapshot (no viewers), sequences included."""
        return {
            "tournament": {**self.tournament, "sequence": self.sequences[f"t:{self.tournament['id']}"]},
            "participants": self.participants,
            "matches": sorted(
                (
                    {**match, "sequence": self.sequences.get(f"m:{match_id}", 0)}
                    for match_id, match in self.matches.items()
                ),
                key=lambda match: (match["round"], match["position"]),
            ),
        }


def _scores(data: dict) -> dict:
    return {
        "participant1_score": data.get("participant1_score", 0),
        "participant2_score": data.get("participant2_score", 0),
        "score_version": data.get("score_version", 0),
    }


def _without_sequence(match: dict) -> dict:
    return {key: value for key, value in match.items() if key != "sequence"}


def as_shown(snapshot: dict) -> dict:
    """A snapshot's `data` in the shape of `ReferenceClient.shows()`."""
    return {
        "tournament": snapshot["tournament"],
        "participants": snapshot["participants"],
        "matches": sorted(snapshot["matches"], key=lambda match: (match["round"], match["position"])),
    }

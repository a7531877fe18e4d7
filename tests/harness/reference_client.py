"""The client rules of docs/protocol.md in Python: what a tournament-room client shows.

The same rules as tournaments/static/tournaments/live-client.js (drop a frame whose sequence is not
above the last one applied for its stream; apply a `batch` frame's entries in order, each as if it
had arrived alone) and live-page.js (how each event changes the page's state). Tests use it to check
that a snapshot plus the frames published after it always equals a fresh snapshot: the page can
never drift from the server. Given what one socket received (`on_socket=True`), it also notes in
`violations` every frame or batch entry the server promises a socket never sends.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable

MATCH_FIELDS_IN_BRACKET_FRAMES = (
    "bracket", "group", "round", "position", "best_of", "state", "participant1_id", "participant2_id", "winner_id",
    "forfeit", "reset_of_id", "version",
)  # fmt: skip
NEW_MATCH = {"dispute": None, "game": 1, "series": [0, 0], "games": [], "forfeited_by_id": None}


class ReferenceClient:
    def __init__(self, snapshot: dict, *, on_socket: bool = False) -> None:
        """Start from a tournament snapshot's `data`.

        `on_socket`: the frames will be those one tournament-room socket received, in order (not a
        history that also holds frames from before the snapshot), so the server's promises hold and
        any breach is noted in `violations`: a stale or duplicate frame, a score after the match's
        completion, an empty batch, a batch entry that is no `score_updated` or a second entry for the
        same match.
        """
        self.on_socket = on_socket
        self.violations: list[str] = []
        self._start(snapshot)

    def _start(self, snapshot: dict) -> None:
        self.tournament = {key: value for key, value in snapshot["tournament"].items() if key != "sequence"}
        self.participants = copy.deepcopy(snapshot["participants"])
        self.standings = copy.deepcopy(snapshot.get("standings", []))
        self.matches = {match["id"]: _without_sequence(match) for match in snapshot["matches"]}
        self.sequences = {f"t:{snapshot['tournament']['id']}": snapshot["tournament"]["sequence"]}
        self.sequences.update({f"m:{match['id']}": match["sequence"] for match in snapshot["matches"]})
        # Matches whose result is final on this socket: no score may follow (a completed match that is
        # disputed and resolved stays completed; only a live match's dispute returns it to live).
        self._completed = {match["id"] for match in snapshot["matches"] if match.get("state") == "completed"}

    def receive(self, text: str | dict) -> bool:
        """Apply one frame (JSON text, or already parsed); False if it was dropped as stale or duplicate.

        A `batch` frame's entries are applied in order, each exactly as a frame received alone: True if
        any of them applied. A snapshot (after a failed resume) replaces everything; `resumed`, `pong`
        and `error` frames change nothing.
        """
        frame = json.loads(text) if isinstance(text, str) else text
        if frame["type"] == "batch":
            return self._receive_batch(frame["data"]["frames"])
        if frame["type"] == "snapshot":
            self._start(frame["data"])
            return True
        if frame["type"] in ("resumed", "pong", "error"):
            return False
        return self._receive_event(frame, "")

    def _receive_batch(self, entries: list[dict]) -> bool:
        if self.on_socket and not entries:
            self.violations.append("an empty batch")
        applied, seen = False, set()
        for position, entry in enumerate(entries):
            where = f"batch entry {position}"
            if self.on_socket:
                match_id = entry["data"].get("match_id")
                if entry["type"] != "score_updated":
                    self.violations.append(f"{where}: a {entry['type']} frame (batches carry only score_updated)")
                elif match_id in seen:
                    self.violations.append(f"{where}: a second entry for match {match_id} in the same batch")
                seen.add(match_id)
            applied = self._receive_event(entry, f"{where}: ") or applied
        return applied

    def _receive_event(self, frame: dict, where: str) -> bool:
        data = frame["data"]
        stream = f"m:{data['match_id']}" if "match_id" in data else f"t:{data['tournament_id']}"
        if self.on_socket:
            self._check(frame, stream, where)
        if data["sequence"] <= self.sequences.get(stream, 0):
            return False
        self.sequences[stream] = data["sequence"]
        if frame["type"] == "match_completed" or (frame["type"] == "dispute_resolved" and data["state"] == "completed"):
            self._completed.add(data["match_id"])
        self._apply(frame["type"], data)
        return True

    def _check(self, frame: dict, stream: str, where: str) -> None:
        """What the server promises a socket, for one frame or batch entry (docs/protocol.md, "Sequences")."""
        data, last = frame["data"], self.sequences.get(stream, 0)
        if data["sequence"] <= last:
            self.violations.append(
                f"{where}{frame['type']} on {stream}: sequence {data['sequence']} not above {last} (stale or duplicate)"
            )
        if frame["type"] == "score_updated" and data["match_id"] in self._completed:
            self.violations.append(f"{where}score_updated on {stream} after the match's completion")

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
            _show_live_game(match)
        elif event == "score_updated":
            _set_live_score(match, data)
        elif event == "game_completed":
            _record_game(match, data, winner_id=data["winner_id"])
            # the next game starts at 0:0, at the version of the game's final score
            match.update(series=data["series"], game=data["game"] + 1, participant1_score=0, participant2_score=0,
                         score_version=data["score_version"])  # fmt: skip
            _show_live_game(match)
        elif event == "match_completed":
            if not data.get("forfeit"):
                _record_game(match, data, winner_id=data["winner_id"])
            match["games"] = [game for game in match.get("games", []) if game["state"] != "live"]
            match.update(state="completed", winner_id=data["winner_id"], **_scores(data))
            match.update({field: data[field] for field in ("series", "forfeit", "forfeited_by_id") if field in data})
        elif event == "match_reopened":
            match["games"] = [game for game in match["games"] if game["number"] != data["game"]]
            match.update(state="live", winner_id=None, series=data["series"], forfeit=False, forfeited_by_id=None)
            _set_live_score(match, data)
            _show_live_game(match)
        elif event == "dispute_created":
            match.update(state="disputed", dispute={"id": data["dispute_id"], "reason": data["reason"]})
        elif event == "dispute_resolved":
            match.update(state=data["state"], winner_id=data["winner_id"], dispute=None)
            match.update({field: data[field] for field in ("series",) if field in data})
            if data["state"] == "completed":
                p1, p2 = data["participant1_score"], data["participant2_score"]
                side_won = match["participant1_id"] if p1 > p2 else match["participant2_id"]
                _record_game(match, data, winner_id=side_won)
                match.update(_scores(data))
            else:
                _set_live_score(match, data)
        elif event == "bracket_generated":
            self.matches = {}
            self._merge(data["matches"])
            self.participants = copy.deepcopy(data["participants"])
            self.standings = []  # drawn again: nothing played yet (the snapshot's tables are all zero)
            self.tournament["status"] = "ongoing" if data["matches"] else "registration"
        elif event == "bracket_updated":
            self._merge(data["matches"])
        elif event == "participants_updated":
            self.participants = copy.deepcopy(data["participants"])
        elif event == "standings_updated":
            self.standings = copy.deepcopy(data["groups"])
        elif event == "tournament_updated":
            self.tournament.update({field: data[field] for field in ("name", "game", "visibility")})
        elif event == "tournament_completed":
            self.tournament.update(
                status="completed", winner_id=data["winner_id"], third_place_id=data["third_place_id"]
            )
        elif event == "tournament_reopened":
            self.tournament.update(status=data["status"], winner_id=None, third_place_id=None)

    def _merge(self, matches: list[dict]) -> None:
        """Bracket entries: a match the client does not know yet, or a newer version of one it does."""
        for entry in matches:
            known = self.matches.get(entry["id"])
            if known is None:
                known = self.matches[entry["id"]] = {"id": entry["id"], **copy.deepcopy(NEW_MATCH), **_scores({})}
            elif entry["version"] <= known["version"]:
                continue
            known.update({field: entry[field] for field in MATCH_FIELDS_IN_BRACKET_FRAMES if field in entry})

    def shows(self) -> dict:
        """What the page shows, in the shape of a snapshot (no viewers), sequences included."""
        return {
            "tournament": {**self.tournament, "sequence": self.sequences[f"t:{self.tournament['id']}"]},
            "participants": self.participants,
            "standings": self.standings,
            "matches": sorted(
                (
                    {**match, "sequence": self.sequences.get(f"m:{match_id}", 0)}
                    for match_id, match in self.matches.items()
                ),
                key=_place,
            ),
        }


def unbatched(frames: Iterable[dict]) -> list[dict]:
    """Parsed frames with every `batch` replaced by its entries, in order: what a socket received, frame
    by frame, as the client applies it (for checks written for individual frames)."""
    return [entry for frame in frames for entry in (frame["data"]["frames"] if frame["type"] == "batch" else [frame])]


def _place(match: dict) -> tuple:
    return match.get("bracket", "main"), match.get("group", 0), match["round"], match["position"]


def _scores(data: dict) -> dict:
    return {
        "participant1_score": data.get("participant1_score", 0),
        "participant2_score": data.get("participant2_score", 0),
        "score_version": data.get("score_version", 0),
        "game": data.get("game", 1),
    }


def _set_live_score(match: dict, data: dict) -> None:
    """The score of the game being played, on the match and on its live entry in `games`."""
    match.update(_scores(data))
    for game in match.setdefault("games", []):
        if game["state"] == "live":
            game.update(number=match["game"], participant1_score=match["participant1_score"],
                        participant2_score=match["participant2_score"])  # fmt: skip


def _show_live_game(match: dict) -> None:
    if not any(game["state"] == "live" for game in match.setdefault("games", [])):
        match["games"].append({"number": match["game"], "participant1_score": match["participant1_score"],
                               "participant2_score": match["participant2_score"], "winner_id": None,
                               "state": "live"})  # fmt: skip


def _record_game(match: dict, data: dict, *, winner_id: int) -> None:
    """Game `data["game"]` completed with `data`'s score (replacing what the client showed of it)."""
    games = [game for game in match.get("games", []) if game["number"] != data.get("game", 1)]
    games.append({"number": data.get("game", 1), "participant1_score": data["participant1_score"],
                  "participant2_score": data["participant2_score"], "winner_id": winner_id,
                  "state": "completed"})  # fmt: skip
    match["games"] = sorted(games, key=lambda game: (game["state"] == "live", game["number"]))


def _without_sequence(match: dict) -> dict:
    return {key: value for key, value in match.items() if key != "sequence"}


def as_shown(snapshot: dict) -> dict:
    """A snapshot's `data` in the shape of `ReferenceClient.shows()`."""
    return {
        "tournament": snapshot["tournament"],
        "participants": snapshot["participants"],
        "standings": snapshot.get("standings", []),
        "matches": sorted(snapshot["matches"], key=_place),
    }

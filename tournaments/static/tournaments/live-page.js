// The live page: draws the bracket from the snapshot and keeps it current from events.
// tests/harness/reference_client.py states the same rules in Python; keep the two in step.
(function () {
  "use strict";
  var root = document.getElementById("bracket");
  var statusEl = document.getElementById("status");
  var championEl = document.getElementById("champion");
  var tournamentId = root.dataset.tournamentId;
  var matchId = root.dataset.matchId;  // an embed of one match: its room, its card alone
  var state = { tournament: null, participants: {}, matches: {}, standings: [] };
  var cards = {};  // match id -> its article.match element
  // A match first seen in a bracket frame (which carries no scores); its own arrays are made per match.
  var NEW_MATCH = { participant1_score: 0, participant2_score: 0, score_version: 0, dispute: null, game: 1,
                    forfeit: false, forfeited_by_id: null, best_of: 1 };

  function name(id) { return id && state.participants[id] ? state.participants[id].name : "TBD"; }
  function disqualified(id) { return !!(id && state.participants[id] && state.participants[id].disqualified); }

  // Column titles: a bracket's last rounds by name, the others by number.
  function roundTitle(round, rounds, prefix) {
    var p = prefix ? prefix + " " : "";
    if (round === rounds) return prefix ? prefix + " final" : "Final";
    if (!prefix && round === rounds - 1) return "Semi-finals";
    if (!prefix && round === rounds - 2) return "Quarter-finals";
    return (p + "round " + round).replace(/^r/, "R");
  }

  function setText(el, text) { if (el.textContent !== text) el.textContent = text; }
  function setClass(el, className) { if (el.className !== className) el.className = className; }

  // --- what each event does to a match (the reference client's _apply, in JavaScript) ---

  function scoresOf(m, d) {
    m.participant1_score = d.participant1_score;
    m.participant2_score = d.participant2_score;
    if (typeof d.score_version === "number") m.score_version = d.score_version;
    if (typeof d.game === "number") m.game = d.game;
  }

  // Game `d.game` ended with `d`'s score: it replaces whatever was shown of it.
  function recordGame(m, d, winnerId) {
    var number = typeof d.game === "number" ? d.game : 1;
    m.games = (m.games || []).filter(function (g) { return g.number !== number; });
    m.games.push({ number: number, participant1_score: d.participant1_score, participant2_score: d.participant2_score,
                   winner_id: winnerId, state: "completed" });
    m.games.sort(function (a, b) { return a.number - b.number; });
  }

  function completedGames(m) { return (m.games || []).filter(function (g) { return g.state === "completed"; }); }

  // --- drawing ---

  // One participant's row: name, a tag (DQ / forfeit), series wins (best-of-3 and longer), live score.
  function patchRow(div, side, m) {
    var id = m["participant" + side + "_id"];
    var series = m.best_of > 1;
    var out = disqualified(id) || (m.forfeit && m.forfeited_by_id && m.forfeited_by_id === id);
    setClass(div, "row" + (m.winner_id && m.winner_id === id ? " winner" : "") + (out ? " out" : ""));
    setText(div.children[0], name(id));
    setText(div.children[1], disqualified(id) ? "DQ" : out ? "forfeit" : "");
    // A walkover before any game was won has no series score to show.
    var played = m.state !== "scheduled" && m.state !== "cancelled" && !(m.forfeit && m.series[0] + m.series[1] === 0);
    setText(div.children[2], series && played ? String(m.series[side - 1]) : "");
    // In a series the score is the current game's: shown while it is played, the games line keeps the rest.
    var showScore = m.state === "live" || m.state === "disputed" || (!series && m.state === "completed" && !m.forfeit);
    setText(div.children[3], showScore ? String(m["participant" + side + "_score"]) : "");
  }

  function stateLine(m) {
    if (m.state === "cancelled" && m.reset_of_id) return "not needed";  // the upper bracket's winner won the grand final
    var parts = [m.state];
    if (m.forfeit && m.state === "completed") parts.push("walkover");
    if (m.best_of > 1) {
      if (m.state === "live" || m.state === "disputed") parts.push("game " + m.game);
      parts.push("Bo" + m.best_of);
    }
    return parts.join(" · ");
  }

  // The completed games of a series, one chip each: "13–7", the winner's score highlighted.
  function patchGames(list, m) {
    var games = m.best_of > 1 ? completedGames(m) : [];
    list.hidden = games.length === 0;
    while (list.children.length > games.length) list.removeChild(list.lastChild);
    games.forEach(function (g, i) {
      var chip = list.children[i];
      if (!chip) {
        chip = list.appendChild(document.createElement("li"));
        chip.className = "game";
        chip.appendChild(document.createElement("span"));
        chip.appendChild(document.createTextNode("–"));
        chip.appendChild(document.createElement("span"));
      }
      [1, 2].forEach(function (side) {
        var score = chip.childNodes[side === 1 ? 0 : 2];
        setText(score, String(g["participant" + side + "_score"]));
        setClass(score, g.winner_id && g.winner_id === m["participant" + side + "_id"] ? "won" : "");
      });
      chip.title = "Game " + g.number + ": " + name(g.winner_id);
    });
  }

  // Brings an existing card up to date with its match, writing only what differs.
  function patchCard(card, m) {
    setClass(card, "match " + m.state + (card.classList.contains("flash") ? " flash" : ""));
    patchRow(card.children[0], 1, m);
    patchRow(card.children[1], 2, m);
    patchGames(card.children[2], m);
    setText(card.children[3], stateLine(m));
  }

  // The short highlight of a card a frame was about; restarted if it is still running.
  function flash(card) {
    if (!card.classList.contains("flash")) { card.classList.add("flash"); return; }
    if (card.getAnimations) card.getAnimations().forEach(function (a) { a.currentTime = 0; });
  }

  function buildCard(m) {
    var card = document.createElement("article");
    card.className = "match";
    card.dataset.matchId = m.id;
    for (var i = 0; i < 2; i++) {
      var div = card.appendChild(document.createElement("div"));
      ["name", "tag", "series", "score"].forEach(function (part) {
        div.appendChild(document.createElement("span")).className = part;
      });
    }
    card.appendChild(document.createElement("ol")).className = "games";
    card.appendChild(document.createElement("div")).className = "state";
    var unflash = function (e) { if (e.target === card) card.classList.remove("flash"); };
    card.addEventListener("animationend", unflash);
    card.addEventListener("animationcancel", unflash);
    patchCard(card, m);
    return card;
  }

  function renderChampion() {
    var t = state.tournament || {};
    championEl.hidden = !t.winner_id;
    if (!t.winner_id) return;
    var text = "🏆 Champion: " + name(t.winner_id);
    if (t.third_place_id) text += " · 🥉 Third place: " + name(t.third_place_id);
    setText(championEl, text);
  }

  function column(title, className, matches) {
    var section = document.createElement("section");
    section.className = className;
    section.appendChild(document.createElement("h2")).textContent = title;
    var list = section.appendChild(document.createElement("div"));
    list.className = "matches";
    matches.sort(function (a, b) { return a.position - b.position; })
      .forEach(function (m) { list.appendChild(cards[m.id] = buildCard(m)); });
    return section;
  }

  function lastRound(matches) {
    return Math.max.apply(null, matches.map(function (m) { return m.round; }).concat([1]));
  }

  // A row of round columns (one bracket), titled when the format has several.
  function bracketRow(title, className, columns) {
    var row = document.createElement("section");
    row.className = "stage " + className;
    if (title) row.appendChild(document.createElement("h2")).textContent = title;
    var line = row.appendChild(document.createElement("div"));
    line.className = "bracket";
    columns.forEach(function (c) { if (c) line.appendChild(c); });
    return row;
  }

  function roundColumns(matches, prefix) {
    var rounds = lastRound(matches), columns = [];
    for (var r = 1; r <= rounds; r++) {
      var these = matches.filter(function (m) { return m.round === r; });
      if (these.length) columns.push(column(roundTitle(r, rounds, prefix), "round", these));
    }
    return columns;
  }

  function groupName(number) { return "Group " + String.fromCharCode(64 + number); }

  // A group: its table (standings_updated keeps it current) and its matches, round by round.
  function groupSection(number, matches) {
    var section = document.createElement("section");
    section.className = "group";
    section.dataset.group = number;
    section.appendChild(document.createElement("h2")).textContent = groupName(number);
    var table = section.appendChild(document.createElement("table"));
    table.className = "standings";
    table.innerHTML = "<thead><tr><th>#</th><th>Participant</th><th title='played'>P</th><th title='wins'>W</th>" +
      "<th title='losses'>L</th><th title='game difference'>GD</th></tr></thead><tbody></tbody>";
    var list = section.appendChild(document.createElement("div"));
    list.className = "matches";
    matches.sort(function (a, b) { return a.round - b.round || a.position - b.position; })
      .forEach(function (m) { list.appendChild(cards[m.id] = buildCard(m)); });
    return section;
  }

  // Each group table from state.standings, rows written only where they differ.
  function patchStandings() {
    var advance = state.tournament && state.tournament.playoffs ? state.tournament.playoffs.advance_per_group : 0;
    (state.standings || []).forEach(function (g) {
      var section = root.querySelector('section.group[data-group="' + g.group + '"]');
      if (!section) return;
      var body = section.querySelector("tbody");
      while (body.children.length > g.standings.length) body.removeChild(body.lastChild);
      g.standings.forEach(function (s, i) {
        var row = body.children[i] || body.appendChild(document.createElement("tr"));
        if (!row.children.length) for (var c = 0; c < 6; c++) row.appendChild(document.createElement("td"));
        var cells = [String(i + 1), name(s.participant_id), String(s.played), String(s.wins), String(s.losses),
                     (s.game_difference > 0 ? "+" : "") + s.game_difference];
        cells.forEach(function (text, c) { setText(row.children[c], text); });
        row.dataset.participantId = s.participant_id;
        setClass(row, (i < advance ? "advances" : "") + (disqualified(s.participant_id) ? " out" : ""));
      });
    });
  }

  // The whole page, from scratch: only when its structure changes (snapshot, new matches). Groups
  // first (tables and matches), then the bracket: upper and lower rows with the grand final after the
  // upper bracket's final (double elimination), or one row of rounds; the third-place match last.
  function render() {
    var matches = Object.values(state.matches);
    if (matchId) {
      root.innerHTML = "";
      cards = {};
      matches.forEach(function (m) { root.appendChild(cards[m.id] = buildCard(m)); });
      return;
    }
    function of(bracket) { return matches.filter(function (m) { return m.bracket === bracket; }); }
    var grouped = of("group"), upper = of("main"), lower = of("lower"), grand = of("grand_final"), third = of("third_place");
    root.innerHTML = "";
    cards = {};
    if (grouped.length) {
      var stage = root.appendChild(document.createElement("section"));
      stage.className = "stage groups";
      stage.appendChild(document.createElement("h2")).textContent = "Group stage";
      var numbers = Array.from(new Set(grouped.map(function (m) { return m.group; }))).sort(function (a, b) { return a - b; });
      numbers.forEach(function (n) {
        stage.appendChild(groupSection(n, grouped.filter(function (m) { return m.group === n; })));
      });
    }
    var playoffTitle = grouped.length ? "Playoffs" : "";
    if (lower.length || grand.length) {
      var finals = grand.sort(function (a, b) { return a.round - b.round; }).map(function (m) {
        return column(m.reset_of_id ? "Grand final reset" : "Grand final", "round grand-final", [m]);
      });
      root.appendChild(bracketRow(playoffTitle ? playoffTitle + " · upper bracket" : "Upper bracket", "upper",
        roundColumns(upper, "Upper").concat(finals)));
      if (lower.length) root.appendChild(bracketRow("Lower bracket", "lower", roundColumns(lower, "Lower")));
    } else if (upper.length) {
      root.appendChild(bracketRow(playoffTitle, "single", roundColumns(upper, "").concat(
        third.length ? [column("Third place", "round third-place", third)] : [])));
    }
    patchStandings();
    renderChampion();
  }

  // Merges bracket matches into the state; returns the ids of those whose data changed. An entry
  // whose version is not newer than the match's is a view built before one already shown: skipped.
  function mergeMatches(list) {
    var changed = [];
    list.forEach(function (m) {
      var known = state.matches[m.id];
      if (!LiveClient.newer(m, known, true)) return;
      known = known || Object.assign({}, NEW_MATCH, { games: [], series: [0, 0] });
      var merged = Object.assign({}, known, m);
      if (Object.keys(merged).some(function (k) { return merged[k] !== known[k]; })) changed.push(m.id);
      state.matches[m.id] = merged;
    });
    return changed;
  }

  // A new match, or one moved to another place, changes the bracket's structure: it is then rebuilt.
  function changesStructure(list) {
    return list.some(function (m) {
      var known = state.matches[m.id];
      return !cards[m.id] || known.round !== m.round || known.position !== m.position ||
        (m.bracket !== undefined && known.bracket !== m.bracket);
    });
  }

  function setParticipants(list) {
    state.participants = {};
    list.forEach(function (p) { state.participants[p.id] = p; });
  }

  function patchAll() {
    Object.keys(cards).forEach(function (id) { patchCard(cards[id], state.matches[id]); });
    patchStandings();
    renderChampion();
  }

  var handlers = {
    status: function (s) { statusEl.textContent = s; statusEl.className = "status " + s; },
    resumed: function () { document.body.dataset.sync = "resumed"; },
    snapshot: function (data) {
      document.body.dataset.sync = "snapshot";
      state.tournament = data.tournament;
      setParticipants(data.participants);
      state.standings = data.standings || [];
      state.matches = {};
      mergeMatches(data.matches || [data.match]);
      render();
    },
    // Patch, don't rebuild: a frame's cost is independent of the bracket's size, and no layout thrash on a phone.
    // Called once per event: LiveClient unwraps the tournament room's `batch` frames into their entries.
    event: function (frame) {
      var d = frame.data, m = state.matches[d.match_id];
      if (m) {
        // Built before a newer view of this match that already arrived (in a bracket frame): skip.
        if (!LiveClient.newer(d, m)) return;
        if (typeof d.version === "number") m.version = d.version;
      }
      switch (frame.type) {
        case "match_started": if (m) m.state = "live"; break;
        case "score_updated": if (m) scoresOf(m, d); break;
        case "game_completed":
          if (m) {
            recordGame(m, d, d.winner_id);
            // the next game starts at 0:0
            Object.assign(m, { series: d.series, game: d.game + 1, participant1_score: 0, participant2_score: 0,
                               score_version: d.score_version });
          }
          break;
        case "match_completed":
          if (m) {
            if (!d.forfeit) recordGame(m, d, d.winner_id);
            m.games = completedGames(m);
            scoresOf(m, d);
            Object.assign(m, { state: "completed", winner_id: d.winner_id });
            ["series", "forfeit", "forfeited_by_id"].forEach(function (k) { if (k in d) m[k] = d[k]; });
          }
          break;
        case "match_reopened":
          if (m) {
            // The last game (or the walkover) is undone: that game is being played again.
            m.games = completedGames(m).filter(function (g) { return g.number !== d.game; });
            Object.assign(m, { state: "live", winner_id: null, series: d.series, forfeit: false, forfeited_by_id: null });
            scoresOf(m, d);
          }
          break;
        case "dispute_created": if (m) Object.assign(m, { state: "disputed", dispute: { id: d.dispute_id, reason: d.reason } }); break;
        case "dispute_resolved":
          if (m) {
            Object.assign(m, { state: d.state, winner_id: d.winner_id, dispute: null });
            if (d.series) m.series = d.series;
            if (d.state === "completed") {
              recordGame(m, d, d.participant1_score > d.participant2_score ? m.participant1_id : m.participant2_id);
            }
            scoresOf(m, d);
          }
          break;
        case "bracket_generated":
          state.tournament.status = d.matches.length ? "ongoing" : "registration";
          setParticipants(d.participants); state.standings = []; state.matches = {}; mergeMatches(d.matches); render();
          return;
        case "standings_updated":
          state.standings = d.groups;
          patchStandings();
          return;
        case "tournament_updated":
          state.tournament.name = d.name;
          if (document.getElementById("title")) document.getElementById("title").textContent = d.name;
          return;
        case "participants_updated":
          setParticipants(d.participants);
          patchAll();
          return;
        case "bracket_updated":
          var rebuild = changesStructure(d.matches), changed = mergeMatches(d.matches);
          if (rebuild) { render(); return; }
          changed.forEach(function (id) { patchCard(cards[id], state.matches[id]); });
          return;
        case "tournament_completed":
          Object.assign(state.tournament, { status: "completed", winner_id: d.winner_id, third_place_id: d.third_place_id || null });
          renderChampion();
          return;
        case "tournament_reopened":
          Object.assign(state.tournament, { status: d.status, winner_id: null, third_place_id: null });
          renderChampion();
          return;
      }
      var card = m && cards[m.id];
      if (card) { patchCard(card, m); flash(card); }
    }
  };

  var scheme = location.protocol === "https:" ? "wss://" : "ws://";
  var room = matchId ? "/ws/match/" + matchId + "/" : "/ws/tournament/" + tournamentId + "/";
  window.liveClient = new LiveClient(scheme + location.host + room, handlers);
})();

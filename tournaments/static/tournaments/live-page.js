// The live page: draws the bracket from the snapshot and keeps it current from events.
// tests/harness/reference_client.py states the same rules in Python; keep the two in step.
(function () {
  "use strict";
  var root = document.getElementById("bracket");
  var statusEl = document.getElementById("status");
  var championEl = document.getElementById("champion");
  var tournamentId = root.dataset.tournamentId;
  var state = { tournament: null, participants: {}, matches: {} };
  var cards = {};  // match id -> its article.match element

  function name(id) { return id && state.participants[id] ? state.participants[id].name : "TBD"; }

  function roundTitle(round, rounds) {
    if (round === rounds) return "Final";
    if (round === rounds - 1) return "Semi-finals";
    if (round === rounds - 2) return "Quarter-finals";
    return "Round " + round;
  }

  function setText(el, text) { if (el.textContent !== text) el.textContent = text; }
  function setClass(el, className) { if (el.className !== className) el.className = className; }

  // One participant's row: <div class="row [winner]"><span>name</span><span class="score"></span></div>
  function patchRow(div, participantId, score, match) {
    setClass(div, "row" + (match.winner_id && match.winner_id === participantId ? " winner" : ""));
    setText(div.firstChild, name(participantId));
    setText(div.lastChild, match.state === "scheduled" ? "" : String(score));
  }

  // Brings an existing card up to date with its match, writing only what differs.
  function patchCard(card, m) {
    setClass(card, "match " + m.state + (card.classList.contains("flash") ? " flash" : ""));
    patchRow(card.children[0], m.participant1_id, m.participant1_score, m);
    patchRow(card.children[1], m.participant2_id, m.participant2_score, m);
    setText(card.children[2], m.state);
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
      var div = document.createElement("div");
      div.appendChild(document.createElement("span"));
      div.appendChild(document.createElement("span")).className = "score";
      card.appendChild(div);
    }
    card.appendChild(document.createElement("div")).className = "state";
    var unflash = function (e) { if (e.target === card) card.classList.remove("flash"); };
    card.addEventListener("animationend", unflash);
    card.addEventListener("animationcancel", unflash);
    patchCard(card, m);
    return card;
  }

  function renderChampion() {
    var winner = state.tournament && state.tournament.winner_id;
    championEl.hidden = !winner;
    if (winner) setText(championEl, "🏆 Champion: " + name(winner));
  }

  // The whole bracket, from scratch: only when its structure changes (snapshot, new matches).
  function render() {
    var matches = Object.values(state.matches);
    var rounds = Math.max.apply(null, matches.map(function (m) { return m.round; }).concat([1]));
    root.innerHTML = "";
    cards = {};
    for (var r = 1; r <= rounds; r++) {
      var column = document.createElement("section");
      column.className = "round";
      var h = document.createElement("h2");
      h.textContent = roundTitle(r, rounds);
      column.appendChild(h);
      var list = document.createElement("div");
      list.className = "matches";
      column.appendChild(list);
      matches.filter(function (m) { return m.round === r; })
        .sort(function (a, b) { return a.position - b.position; })
        .forEach(function (m) { list.appendChild(cards[m.id] = buildCard(m)); });
      root.appendChild(column);
    }
    renderChampion();
  }

  // Merges bracket matches into the state; returns the ids of those whose data changed. An entry
  // whose version is not newer than the match's is a view built before one already shown: skipped.
  function mergeMatches(list) {
    var changed = [];
    list.forEach(function (m) {
      var known = state.matches[m.id];
      if (!LiveClient.newer(m, known, true)) return;
      known = known || { participant1_score: 0, participant2_score: 0, dispute: null };
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
      return !cards[m.id] || known.round !== m.round || known.position !== m.position;
    });
  }

  function setParticipants(list) {
    state.participants = {};
    list.forEach(function (p) { state.participants[p.id] = p; });
  }

  var handlers = {
    status: function (s) { statusEl.textContent = s; statusEl.className = "status " + s; },
    resumed: function () { document.body.dataset.sync = "resumed"; },
    snapshot: function (data) {
      document.body.dataset.sync = "snapshot";
      state.tournament = data.tournament;
      setParticipants(data.participants);
      state.matches = {};
      mergeMatches(data.matches);
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
        case "score_updated":
          if (m) { m.participant1_score = d.participant1_score; m.participant2_score = d.participant2_score; }
          break;
        case "match_completed":
          if (m) Object.assign(m, { state: "completed", winner_id: d.winner_id,
            participant1_score: d.participant1_score, participant2_score: d.participant2_score });
          break;
        case "dispute_created": if (m) Object.assign(m, { state: "disputed", dispute: { id: d.dispute_id, reason: d.reason } }); break;
        case "dispute_resolved":
          if (m) Object.assign(m, { state: d.state, winner_id: d.winner_id, dispute: null,
            participant1_score: d.participant1_score, participant2_score: d.participant2_score });
          break;
        case "bracket_generated":
          state.tournament.status = d.matches.length ? "ongoing" : "registration";
          setParticipants(d.participants); state.matches = {}; mergeMatches(d.matches); render();
          return;
        case "tournament_updated":
          state.tournament.name = d.name;
          document.getElementById("title").textContent = d.name;
          return;
        case "participants_updated":
          setParticipants(d.participants);
          Object.keys(cards).forEach(function (id) { patchCard(cards[id], state.matches[id]); });
          renderChampion();
          return;
        case "bracket_updated":
          var rebuild = changesStructure(d.matches), changed = mergeMatches(d.matches);
          if (rebuild) { render(); return; }
          changed.forEach(function (id) { patchCard(cards[id], state.matches[id]); });
          return;
        case "tournament_completed":
          state.tournament.winner_id = d.winner_id; state.tournament.status = "completed";
          renderChampion();
          return;
      }
      var card = m && cards[m.id];
      if (card) { patchCard(card, m); flash(card); }
    }
  };

  var scheme = location.protocol === "https:" ? "wss://" : "ws://";
  window.liveClient = new LiveClient(scheme + location.host + "/ws/tournament/" + tournamentId + "/", handlers);
})();

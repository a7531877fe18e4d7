// The live page: draws the bracket from the snapshot and keeps it current from events.
(function () {
  "use strict";
  var root = document.getElementById("bracket");
  var statusEl = document.getElementById("status");
  var championEl = document.getElementById("champion");
  var tournamentId = root.dataset.tournamentId;
  var state = { tournament: null, participants: {}, matches: {} };

  function name(id) { return id && state.participants[id] ? state.participants[id].name : "TBD"; }

  function roundTitle(round, rounds) {
    if (round === rounds) return "Final";
    if (round === rounds - 1) return "Semi-finals";
    if (round === rounds - 2) return "Quarter-finals";
    return "Round " + round;
  }

  function row(participantId, score, match) {
    var div = document.createElement("div");
    div.className = "row" + (match.winner_id && match.winner_id === participantId ? " winner" : "");
    var label = document.createElement("span");
    label.textContent = name(participantId);
    var value = document.createElement("span");
    value.className = "score";
    value.textContent = match.state === "scheduled" ? "" : score;
    div.appendChild(label);
    div.appendChild(value);
    return div;
  }

  function render(flashId) {
    var matches = Object.values(state.matches);
    var rounds = Math.max.apply(null, matches.map(function (m) { return m.round; }).concat([1]));
    root.innerHTML = "";
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
        .forEach(function (m) {
          var card = document.createElement("article");
          card.className = "match " + m.state + (m.id === flashId ? " flash" : "");
          card.dataset.matchId = m.id;
          card.appendChild(row(m.participant1_id, m.participant1_score, m));
          card.appendChild(row(m.participant2_id, m.participant2_score, m));
          var s = document.createElement("div");
          s.className = "state";
          s.textContent = m.state;
          card.appendChild(s);
          list.appendChild(card);
        });
      root.appendChild(column);
    }
    var winner = state.tournament && state.tournament.winner_id;
    championEl.hidden = !winner;
    if (winner) championEl.textContent = "🏆 Champion: " + name(winner);
  }

  function mergeMatches(list) {
    list.forEach(function (m) {
      var known = state.matches[m.id] || { participant1_score: 0, participant2_score: 0 };
      state.matches[m.id] = Object.assign({}, known, m);
    });
  }

  var handlers = {
    status: function (s) { statusEl.textContent = s; statusEl.className = "status " + s; },
    resumed: function () { document.body.dataset.sync = "resumed"; },
    snapshot: function (data) {
      document.body.dataset.sync = "snapshot";
      state.tournament = data.tournament;
      state.participants = {};
      data.participants.forEach(function (p) { state.participants[p.id] = p; });
      state.matches = {};
      mergeMatches(data.matches);
      render();
    },
    event: function (frame) {
      var d = frame.data, m = state.matches[d.match_id];
      switch (frame.type) {
        case "match_started": if (m) m.state = "live"; break;
        case "score_updated":
          if (m) { m.participant1_score = d.participant1_score; m.participant2_score = d.participant2_score; }
          break;
        case "match_completed":
          if (m) Object.assign(m, { state: "completed", winner_id: d.winner_id,
            participant1_score: d.participant1_score, participant2_score: d.participant2_score });
          break;
        case "dispute_created": if (m) m.state = "disputed"; break;
        case "dispute_resolved":
          if (m) Object.assign(m, { state: d.state, winner_id: d.winner_id,
            participant1_score: d.participant1_score, participant2_score: d.participant2_score });
          break;
        case "bracket_generated": state.matches = {}; mergeMatches(d.matches); break;
        case "bracket_updated": mergeMatches(d.matches); break;
        case "tournament_completed": state.tournament.winner_id = d.winner_id; state.tournament.status = "completed"; break;
      }
      render(d.match_id);
    }
  };

  var scheme = location.protocol === "https:" ? "wss://" : "ws://";
  window.liveClient = new LiveClient(scheme + location.host + "/ws/tournament/" + tournamentId + "/", handlers);
})();

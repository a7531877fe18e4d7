// The console (docs/console.md): the pages organizers and referees run a tournament with.
// Every change goes through the HTTP API (docs/api.md) with the session cookie and the CSRF token;
// live state comes from the WebSocket rooms through LiveClient (live-client.js), as on the live page.
// Errors are shown in words next to the control that caused them; every request is safe to retry.
(function () {
  "use strict";
  var root = document.getElementById("console");
  if (!root) return;

  // --- HTTP ------------------------------------------------------------------------------------

  function cookie(name) {
    var found = document.cookie.split("; ").filter(function (c) { return c.indexOf(name + "=") === 0; })[0];
    return found ? decodeURIComponent(found.slice(name.length + 1)) : "";
  }

  // Resolves (never rejects) to {ok, status, data, retryAfter}; status 0: no answer at all.
  function api(method, path, body) {
    var init = { method: method, credentials: "same-origin", headers: { "Accept": "application/json" } };
    if (method !== "GET") init.headers["X-CSRFToken"] = cookie("csrftoken");
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return fetch(path, init).then(function (response) {
      return response.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
        return { ok: response.ok, status: response.status, data: data,
                 retryAfter: response.headers.get("Retry-After") };
      });
    }, function () { return { ok: false, status: 0, data: null, retryAfter: null }; });
  }

  // "field: message" lines of an error's details (nested for lists of items).
  function detailLines(details, prefix) {
    if (details === null || details === undefined) return [];
    if (typeof details === "string") return [prefix ? prefix + ": " + details : details];
    var lines = [];
    if (Array.isArray(details)) {
      details.forEach(function (item, i) {
        var label = typeof item === "string" ? prefix : (prefix ? prefix + " " : "line ") + (i + 1);
        lines = lines.concat(detailLines(item, label));
      });
    } else if (typeof details === "object") {
      Object.keys(details).forEach(function (key) {
        var label = key === "non_field_errors" ? prefix : (prefix ? prefix + " " + key : key);
        lines = lines.concat(detailLines(details[key], label));
      });
    }
    return lines;
  }

  // What went wrong, in words.
  function describe(result) {
    var error = result.data && result.data.error;
    var message = error && error.message ? error.message : "";
    switch (result.status) {
      case 0: return "No answer from the server: check the connection and try again.";
      case 400:
        var lines = detailLines(error && error.details, "").slice(0, 4);
        return "Not accepted: " + (lines.length ? lines.join("; ") : message || "check what you entered.");
      case 401: return "Your session has ended: log in again (in another tab), then retry.";
      case 403: return "Not allowed: " + (message || "your role in this tournament does not permit this.");
      case 404: return "Not found: it may have been deleted meanwhile; reload the page.";
      case 409: return "Refused: " + (message || "the match or tournament has changed meanwhile.");
      case 413: return "Too much at once: send fewer lines.";
      case 429: return "Too many requests: try again " + (result.retryAfter ? "in " + result.retryAfter + " s." : "in a moment.");
      case 503: return "The live-score service is unavailable right now: try again in a moment (retrying is safe).";
      default: return "Something went wrong (HTTP " + result.status + ")" + (message ? ": " + message : "") + ". Try again.";
    }
  }

  // The error (or success) line of a control: the one it names (data-error), else the one in its box.
  function slot(control, selector) {
    if (selector === ".error" && control.dataset.error) return document.getElementById(control.dataset.error);
    var box = control.closest(".control, form") || control.parentNode;
    return box.querySelector(":scope > " + selector);
  }
  function say(el, text) {
    if (!el) return;
    el.textContent = text || "";
    el.hidden = !text;
  }
  function failed(control, result) { say(slot(control, ".error"), describe(result)); }
  function cleared(control) { say(slot(control, ".error"), ""); say(slot(control, ".ok"), ""); }

  // Runs one request for a button or form: busy while it runs, error shown next to it; `onFailure`
  // (optional) runs after the error is shown.
  function act(control, button, request, onSuccess, onFailure) {
    cleared(control);
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    return request().then(function (result) {
      button.disabled = false;
      button.removeAttribute("aria-busy");
      if (result.ok) onSuccess(result.data || {});
      else {
        failed(control, result);
        if (onFailure) onFailure(result);
      }
      return result;
    });
  }

  function lines(text) {
    return text.split("\n").map(function (s) { return s.trim(); }).filter(function (s) { return s; });
  }

  function setText(el, text) { if (el.textContent !== text) el.textContent = text; }

  // The socket's state in the header; once a connection has dropped, "reconnecting…" until a
  // snapshot (or resume) arrives, across LiveClient's attempts.
  var STATUS_WORDS = { connecting: "connecting…", offline: "reconnecting…" };
  var dropped = false;
  function showStatus(state) {
    if (state === "offline") dropped = true;
    else if (state === "live") dropped = false;
    if (state === "connecting" && dropped) state = "offline";
    var el = document.getElementById("status");
    setText(el, STATUS_WORDS[state] || state);
    el.className = "status " + state.replace(" ", "-");
    var notice = document.getElementById("reconnecting");
    if (notice) notice.hidden = state !== "offline";
  }

  function socketUrl(path) {
    return (location.protocol === "https:" ? "wss://" : "ws://") + location.host + path;
  }

  function roundTitle(round, rounds) {  // console.py round_title says the same
    if (round === rounds) return "Final";
    if (round === rounds - 1) return "Semi-final";
    if (round === rounds - 2) return "Quarter-final";
    return "Round " + round;
  }

  // Where the match is played; `rounds`: each bracket's last round (console.py match_title says the same).
  function matchTitle(m, rounds) {
    if (m.bracket === "third_place") return "Third place";
    if (m.bracket === "group") return "Group " + String.fromCharCode(64 + m.group) + " · round " + m.round;
    if (m.bracket === "grand_final") return m.reset_of_id ? "Grand final reset" : "Grand final";
    var last = rounds[m.bracket] || m.round;
    if (m.bracket === "lower" || rounds.lower) {
      var side = m.bracket === "lower" ? "Lower" : "Upper";
      return m.round === last ? side + " final" : side + " round " + m.round;
    }
    return roundTitle(m.round, last);
  }

  function lastRounds(matches) {
    var rounds = {};
    matches.forEach(function (m) { rounds[m.bracket] = Math.max(rounds[m.bracket] || 0, m.round); });
    return rounds;
  }

  // Newest-wins for frames that carry a match's change counter (`version`), whatever order they arrive in:
  // LiveClient.newer (live-client.js), the rule the live page uses too. Looked up when called, as the
  // index page does not load live-client.js.
  function newer(incoming, known, strictly) { return LiveClient.newer(incoming, known, strictly); }

  // --- /console/: the new tournament form ----------------------------------------------------------

  function indexPage() {
    var form = document.getElementById("new-tournament");
    if (!form) return;
    var groupOptions = form.querySelector("fieldset.round-robin");
    form.elements.format.addEventListener("change", function () {
      groupOptions.hidden = form.elements.format.value !== "round_robin";
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var f = form.elements;
      var body = {
        name: f.name.value.trim(),
        game: f.game.value.trim(),
        visibility: f.visibility.value,
        format: f.format.value,
        best_of: Number(f.best_of.value),
        final_best_of: Number(f.final_best_of.value),
        third_place_match: f.third_place_match.checked,
        grand_final_reset: f.grand_final_reset.checked,
        participants: lines(f.participants.value),
      };
      if (f.format.value === "round_robin") {
        body.groups = Number(f.groups.value);
        if (f.playoff_format.value) {
          body.playoffs = { format: f.playoff_format.value, advance_per_group: Number(f.advance_per_group.value) };
        }
      }
      act(form, form.querySelector("button[type=submit]"), function () {
        return api("POST", "/api/tournaments/", body);
      }, function (data) {
        var id = data.tournament ? data.tournament.id : data.id;
        location.assign("/console/tournaments/" + id + "/");
      });
    });
  }

  // --- /console/tournaments/<id>/: matches, participants, officials ------------------------------

  var STATE_ORDER = { live: 0, disputed: 1, scheduled: 2, completed: 3, cancelled: 4 };

  function tournamentPage() {
    var tournamentId = root.dataset.tournamentId;
    var list = document.getElementById("matches");
    var state = { tournament: null, participants: {}, matches: {} };
    var fetchingParticipants = false, missingTried = "";
    // Until the snapshot arrives: the participants the server rendered.
    Array.prototype.forEach.call(document.querySelectorAll("#participants li"), function (li) {
      var id = Number(li.dataset.participantId);
      state.participants[id] = { id: id, seed: Number(li.querySelector(".seed").textContent),
        name: li.querySelector(".name").textContent, disqualified: li.dataset.disqualified === "true" };
    });
    var organizer = root.dataset.organizer === "true";

    function name(id) { return id && state.participants[id] ? state.participants[id].name : "TBD"; }

    // Row: <li data-match-id><a class="match <state>"><div class="row">name score</div>×2<div class="state"></div></a></li>
    function buildRow(m) {
      var li = document.createElement("li");
      li.dataset.matchId = m.id;
      var a = li.appendChild(document.createElement("a"));
      a.href = "/console/matches/" + m.id + "/";
      for (var i = 0; i < 2; i++) {
        var row = a.appendChild(document.createElement("div"));
        row.appendChild(document.createElement("span")).className = "name";
        row.appendChild(document.createElement("span")).className = "score";
      }
      a.appendChild(document.createElement("div")).className = "state";
      return li;
    }

    // A series shows each side's wins; a one-game match its score. The state line says which game
    // is being played and how it stands, and marks walkovers.
    function patchRow(li, m, rounds) {
      var a = li.firstElementChild;
      if (a.className !== "match " + m.state) a.className = "match " + m.state;
      var series = (m.best_of || 1) > 1;
      [1, 2].forEach(function (side) {
        var row = a.children[side - 1], id = m["participant" + side + "_id"];
        var out = (m.forfeit && m.forfeited_by_id === id) || (state.participants[id] && state.participants[id].disqualified);
        var cls = "row" + (m.winner_id && m.winner_id === id ? " winner" : "") + (id && out ? " out" : "");
        if (row.className !== cls) row.className = cls;
        setText(row.firstChild, name(id));
        var shown = series ? (m.series || [0, 0])[side - 1] : m["participant" + side + "_score"];
        setText(row.lastChild, m.state === "scheduled" || m.state === "cancelled" ? "" : String(shown));
      });
      var line = [matchTitle(m, rounds) + " · match " + (m.position + 1), m.state];
      if (series && (m.state === "live" || m.state === "disputed")) {
        line.push("game " + m.game + " " + m.participant1_score + ":" + m.participant2_score);
      }
      if (series) line.push("Bo" + m.best_of);
      if (m.forfeit && m.state === "completed") line.push("walkover");
      setText(a.children[2], line.join(" · "));
    }

    // Rows keyed by match id, reused; live first, then disputed, scheduled, completed.
    function renderMatches() {
      var matches = Object.values(state.matches);
      var rounds = lastRounds(matches);
      var rows = {};
      Array.prototype.forEach.call(list.children, function (li) { rows[li.dataset.matchId] = li; });
      matches.sort(function (a, b) {
        return (STATE_ORDER[a.state] - STATE_ORDER[b.state]) || (a.round - b.round) ||
          ((a.bracket === "third_place") - (b.bracket === "third_place")) || (a.position - b.position);
      });
      matches.forEach(function (m, i) {
        var li = rows[m.id] || buildRow(m);
        delete rows[m.id];
        patchRow(li, m, rounds);
        if (list.children[i] !== li) list.insertBefore(li, list.children[i] || null);
      });
      Object.values(rows).forEach(function (li) { li.remove(); });
      document.getElementById("no-matches").hidden = matches.length > 0;
      var champion = document.getElementById("champion");
      var t = state.tournament || {};
      champion.hidden = !t.winner_id;
      if (t.winner_id) {
        setText(champion, "🏆 Champion: " + name(t.winner_id) + (t.third_place_id ? " · 🥉 Third place: " + name(t.third_place_id) : ""));
      }
      if (state.tournament) setText(document.getElementById("tournament-status"), state.tournament.status);
      var missing = [];
      matches.forEach(function (m) {
        [m.participant1_id, m.participant2_id].forEach(function (id) {
          if (id && !state.participants[id]) missing.push(id);
        });
      });
      if (missing.length && missing.sort().join() !== missingTried) {
        missingTried = missing.join();
        refreshParticipants();
      }
    }

    // Once the bracket is drawn an organizer may disqualify a participant: they forfeit their live
    // match and every later one. Two taps (Disqualify…, then Confirm), as it cannot be undone here.
    function renderParticipants() {
      var ul = document.getElementById("participants");
      var participants = Object.values(state.participants).sort(function (a, b) { return a.seed - b.seed; });
      var ongoing = state.tournament ? state.tournament.status === "ongoing" : root.dataset.status === "ongoing";
      ul.textContent = "";
      participants.forEach(function (p) {
        var li = ul.appendChild(document.createElement("li"));
        li.dataset.participantId = p.id;
        li.appendChild(document.createElement("span")).className = "seed";
        li.firstChild.textContent = p.seed;
        li.appendChild(document.createTextNode(" "));
        var label = li.appendChild(document.createElement("span"));
        label.className = "name" + (p.disqualified ? " out" : "");
        label.textContent = p.name;
        if (p.disqualified) li.appendChild(document.createElement("span")).className = "tag";
        if (p.disqualified) li.lastChild.textContent = "disqualified";
        // A row of its own, with its control: an organizer's view of an ongoing tournament.
        if (organizer && ongoing) li.className = "participant control";
        if (organizer && ongoing && !p.disqualified) disqualifyControl(li, p);
      });
      setText(document.getElementById("participant-count"), String(participants.length));
    }

    function disqualifyControl(li, p) {
      var button = li.appendChild(document.createElement("button"));
      button.type = "button";
      button.className = "small disqualify";
      button.textContent = "Disqualify…";
      var error = li.appendChild(document.createElement("p"));
      error.className = "error";
      error.setAttribute("role", "alert");
      error.hidden = true;
      button.addEventListener("click", function () {
        if (button.dataset.confirming !== "true") {
          button.dataset.confirming = "true";
          button.textContent = "Confirm: disqualify " + p.name;
          return;
        }
        act(li, button, function () {
          return api("POST", "/api/participants/" + p.id + "/disqualify/");
        }, function (data) {
          state.participants[p.id] = Object.assign({}, p, data, { disqualified: true });
          renderParticipants();
          renderMatches();
        }, function () {
          button.dataset.confirming = "";
          button.textContent = "Disqualify…";
        });
      });
    }

    function setParticipants(participants, replace) {
      if (replace) state.participants = {};
      participants.forEach(function (p) { state.participants[p.id] = p; });
      renderParticipants();
    }

    // A match names a participant this page has not seen (added elsewhere): read them from the API.
    function refreshParticipants() {
      if (fetchingParticipants) return;
      fetchingParticipants = true;
      api("GET", "/api/tournaments/" + tournamentId + "/").then(function (result) {
        fetchingParticipants = false;
        if (result.ok && result.data && result.data.participants) {
          setParticipants(result.data.participants, true);
          renderMatches();
        }
      });
    }

    // Bracket entries: a match not known yet, or a newer view (version) of one that is.
    function mergeMatches(matches, replace) {
      if (replace) state.matches = {};
      matches.forEach(function (m) {
        var known = state.matches[m.id];
        if (!newer(m, known, true)) return;
        state.matches[m.id] = Object.assign({ participant1_score: 0, participant2_score: 0, game: 1, series: [0, 0] }, known, m);
      });
    }

    function applyMatchEvent(type, d) {
      var m = state.matches[d.match_id];
      if (!m) return;
      if (type === "score_updated") {
        Object.assign(m, { participant1_score: d.participant1_score, participant2_score: d.participant2_score });
        if (typeof d.game === "number") m.game = d.game;
        return;
      }
      if (!newer(d, m)) return;
      if (typeof d.version === "number") m.version = d.version;
      var scores = { participant1_score: d.participant1_score, participant2_score: d.participant2_score };
      switch (type) {
        case "match_started":
          Object.assign(m, { state: "live", participant1_id: d.participant1_id, participant2_id: d.participant2_id });
          break;
        case "game_completed":
          Object.assign(m, { series: d.series, game: d.game + 1, participant1_score: 0, participant2_score: 0 });
          break;
        case "match_completed":
        case "dispute_resolved":
        case "match_reopened":
          Object.assign(m, scores, { state: d.state || "completed", winner_id: d.winner_id || null });
          ["series", "game", "forfeit", "forfeited_by_id"].forEach(function (k) { if (k in d) m[k] = d[k]; });
          if (type === "match_reopened") Object.assign(m, { forfeit: false, forfeited_by_id: null });
          break;
        case "dispute_created": m.state = "disputed"; break;
      }
    }

    var handlers = {
      status: showStatus,
      snapshot: function (data) {
        state.tournament = data.tournament;
        setParticipants(data.participants, true);
        mergeMatches(data.matches, true);
        renderMatches();
      },
      event: function (frame) {
        var d = frame.data;
        switch (frame.type) {
          case "bracket_generated":
            if (state.tournament) state.tournament.status = d.matches.length ? "ongoing" : "registration";
            if (d.participants) setParticipants(d.participants, true);
            mergeMatches(d.matches, true);
            break;
          case "bracket_updated": mergeMatches(d.matches, false); break;
          case "participants_updated": setParticipants(d.participants, true); break;
          case "tournament_completed":
            if (state.tournament) {
              Object.assign(state.tournament, { status: "completed", winner_id: d.winner_id, third_place_id: d.third_place_id || null });
            }
            renderParticipants();
            break;
          case "tournament_reopened":
            if (state.tournament) Object.assign(state.tournament, { status: d.status, winner_id: null, third_place_id: null });
            renderParticipants();
            break;
          default: applyMatchEvent(frame.type, d);
        }
        renderMatches();
      },
    };
    window.consoleClient = new LiveClient(socketUrl("/ws/tournament/" + tournamentId + "/"), handlers);

    // Organizers' forms.
    var addParticipants = document.getElementById("add-participants");
    if (addParticipants) {
      addParticipants.addEventListener("submit", function (event) {
        event.preventDefault();
        var names = lines(addParticipants.elements.names.value);
        var body = names.map(function (n) { return { name: n }; });
        act(addParticipants, addParticipants.querySelector("button[type=submit]"), function () {
          return api("POST", "/api/tournaments/" + tournamentId + "/participants/", body);
        }, function (data) {
          var added = data.participants || [];
          setParticipants(added, false);
          addParticipants.elements.names.value = "";
          say(slot(addParticipants, ".ok"), "Added " + added.length + (added.length === 1 ? " participant." : " participants."));
        });
      });
    }

    var generate = document.getElementById("generate-bracket");
    if (generate) {
      generate.addEventListener("click", function () {
        act(generate, generate, function () {
          return api("POST", "/api/tournaments/" + tournamentId + "/bracket/");
        }, function (data) {
          if (data.participants) setParticipants(data.participants, true);
          if (data.matches) mergeMatches(data.matches, true);
          if (data.tournament) state.tournament = Object.assign(state.tournament || {}, data.tournament);
          renderMatches();
          say(slot(generate, ".ok"), "Bracket generated: " + Object.keys(state.matches).length + " matches.");
        });
      });
    }

    var addOfficial = document.getElementById("add-official");
    if (addOfficial) {
      addOfficial.addEventListener("submit", function (event) {
        event.preventDefault();
        var body = { username: addOfficial.elements.username.value.trim(), role: addOfficial.elements.role.value };
        act(addOfficial, addOfficial.querySelector("button[type=submit]"), function () {
          return api("POST", "/api/tournaments/" + tournamentId + "/roles/", body);
        }, function (data) {
          var li = document.createElement("li");
          li.appendChild(document.createElement("span")).textContent = data.username || body.username;
          li.appendChild(document.createTextNode(" "));
          var role = li.appendChild(document.createElement("span"));
          role.className = "muted";
          role.textContent = data.role || body.role;
          document.getElementById("officials").appendChild(li);
          addOfficial.elements.username.value = "";
        });
      });
    }
  }

  // --- /console/matches/<id>/: the scoring screen --------------------------------------------------

  function matchPage() {
    var ds = root.dataset;
    var matchId = ds.matchId;
    function num(v) { return v === "" || v === undefined ? null : Number(v); }
    var m = {
      state: ds.state, version: null,
      participant1_id: num(ds.participant1Id), participant2_id: num(ds.participant2Id),
      names: {}, winner_id: num(ds.winnerId),
      dispute: ds.disputeId ? { id: Number(ds.disputeId), reason: ds.disputeReason } : null,
      best_of: Number(ds.bestOf || 1), game: Number(ds.game || 1), series: [Number(ds.series1 || 0), Number(ds.series2 || 0)],
      games: [], forfeit: ds.forfeit === "true", forfeited_by_id: num(ds.forfeitedById),
    };
    var organizer = ds.organizer === "true";
    if (m.participant1_id) m.names[m.participant1_id] = ds.name1;
    if (m.participant2_id) m.names[m.participant2_id] = ds.name2;
    // The newest score the server holds (socket frames and API answers: the highest score_version
    // wins), and this screen's taps the server has not answered yet, as [side 1, side 2] increments:
    // those waiting to be sent, and those on their way. Taps are sent as increments (.../adjust/),
    // so two referees tapping at once both count.
    var server = [Number(ds.score1), Number(ds.score2)];
    var serverVersion = Number(ds.scoreVersion || 0);
    var pending = [0, 0], inFlight = null, idleWaiters = [];
    var confirming = false, confirmingReopen = false;
    var el = function (id) { return document.getElementById(id); };
    function isSeries() { return m.best_of > 1; }
    // Would side `side` winning the game being played win the match? (it needs best_of // 2 + 1 games)
    function decides(side) { return m.series[side - 1] + 1 === Math.floor(m.best_of / 2) + 1; }

    function shown() {
      var sending = inFlight || [0, 0];
      return [0, 1].map(function (i) { return Math.max(0, server[i] + pending[i] + sending[i]); });
    }
    function name(side) { var id = m["participant" + side + "_id"]; return (id && m.names[id]) || "TBD"; }

    function render() {
      var score = shown();
      [1, 2].forEach(function (side) {
        setText(el("name" + side), name(side));
        setText(el("plus-name" + side), name(side));
        setText(el("score" + side), String(score[side - 1]));
        var winner = m.winner_id && m.winner_id === m["participant" + side + "_id"];
        el("side" + side).className = "side" + (winner ? " winner" : "");
        el("plus" + side).disabled = m.state !== "live" || confirming;
        el("minus" + side).disabled = m.state !== "live" || confirming || score[side - 1] === 0;
        el("plus" + side).setAttribute("aria-label", "+1 for " + name(side));
        el("minus" + side).setAttribute("aria-label", "−1 for " + name(side));
      });
      var badge = el("match-state");
      setText(badge, m.state + (m.forfeit && m.state === "completed" ? " · walkover" : ""));
      badge.className = "badge " + m.state;
      root.dataset.state = m.state;
      var known = m.participant1_id && m.participant2_id;
      el("waiting").hidden = !!known || m.state === "completed";
      el("start-control").hidden = m.state !== "scheduled";
      el("start").disabled = !known;
      el("complete-control").hidden = m.state !== "live";
      setText(el("complete"), isSeries() ? "End game " + m.game + "…" : "Complete match…");
      renderSeries();
      var forfeitable = (m.state === "scheduled" || m.state === "live") && !!known;
      el("forfeit-control").hidden = !forfeitable;
      [1, 2].forEach(function (side) { setText(el("forfeit" + side), name(side) + " forfeits"); });
      if (organizer) {
        if (m.state !== "completed") confirmingReopen = false;
        el("reopen-control").hidden = m.state !== "completed";
        el("confirm-reopen").hidden = !confirmingReopen;
        el("reopen").hidden = confirmingReopen;
      }
      el("pad").hidden = m.state !== "live";  // on a phone it would cover the controls that matter now
      if (m.state !== "live") confirming = false;
      el("confirm-complete").hidden = !confirming;
      el("complete").hidden = confirming;
      if (confirming) {
        var tie = score[0] === score[1];
        var side = score[0] > score[1] ? 1 : 2;
        setText(el("final-label"), isSeries() ? "Game " + m.game + " final score" : "Final score");
        setText(el("final-score"), name(1) + " " + score[0] + " : " + score[1] + " " + name(2));
        setText(el("final-winner"), tie ? "" : !isSeries() ? "Winner: " + name(side)
          : decides(side) ? "Game and match to " + name(side) + ": they win the series " + seriesAfter(side)
          : "Game to " + name(side) + ": the series goes on at " + seriesAfter(side) + ", game " + (m.game + 1) + " next");
        el("final-tie").hidden = !tie;
        el("confirm-complete-yes").disabled = tie;
      }
      el("dispute-control").hidden = m.state !== "live" && m.state !== "completed";
      el("dispute-info").hidden = m.state !== "disputed";
      setText(el("dispute-reason"), m.dispute && m.dispute.reason ? m.dispute.reason : "(reason not known to this screen)");
      el("resolve-control").hidden = m.state !== "disputed";
      el("resolve-unknown").hidden = !!(m.dispute && m.dispute.id);
      var resolveForm = el("resolve-dispute");
      [1, 2].forEach(function (side) {
        var input = resolveForm.elements["participant" + side + "_score"];
        input.setAttribute("aria-label", "Corrected score of " + name(side));
        if (input.value === "") input.placeholder = String(score[side - 1]);
      });
    }

    function seriesAfter(side) {
      var wins = m.series.slice();
      wins[side - 1] += 1;
      return wins[0] + "–" + wins[1];
    }

    // The series: the game being played, the wins, each completed game's score.
    function renderSeries() {
      el("series-line").hidden = !isSeries();
      if (!isSeries()) return;
      var playing = m.state === "live" || m.state === "disputed";
      setText(el("game-label"), (playing ? "Game " + m.game + " · " : "") + "best of " + m.best_of);
      setText(el("series-wins"), m.series[0] + "–" + m.series[1]);
      var list = el("game-list");
      while (list.children.length > m.games.length) list.removeChild(list.lastChild);
      m.games.forEach(function (g, i) {
        var li = list.children[i] || list.appendChild(document.createElement("li"));
        setText(li, g.participant1_score + ":" + g.participant2_score);
        li.title = "Game " + g.number;
      });
    }

    // Game `d.game` ended with `d`'s score (a game_completed or match_completed frame).
    function recordGame(d) {
      m.games = m.games.filter(function (g) { return g.number !== d.game; });
      m.games.push({ number: d.game, participant1_score: d.participant1_score, participant2_score: d.participant2_score });
      m.games.sort(function (a, b) { return a.number - b.number; });
    }

    // --- scores: one request in flight at most; taps meanwhile move the target (latest wins) ---

    function heard(score, version) {
      if (typeof version === "number") {
        if (version < serverVersion) return;  // an older score than one already heard
        serverVersion = version;
      }
      server = score;
    }

    function idle() { return !inFlight && pending[0] === 0 && pending[1] === 0; }

    function settle() {
      if (!idle()) return;
      var waiters = idleWaiters;
      idleWaiters = [];
      waiters.forEach(function (resolve) { resolve(); });
    }

    function whenIdle() {
      return new Promise(function (resolve) { idleWaiters.push(resolve); settle(); });
    }

    // One request at a time: taps made meanwhile add up and go in the next one.
    function pump() {
      if (inFlight || (pending[0] === 0 && pending[1] === 0)) { settle(); return; }
      inFlight = pending;
      pending = [0, 0];
      // Naming the game: a tap meant for a game that has just ended is refused, not counted in the next one.
      var body = { game: m.game };
      if (inFlight[0]) body.participant1 = inFlight[0];
      if (inFlight[1]) body.participant2 = inFlight[1];
      api("POST", "/api/matches/" + matchId + "/score/adjust/", body).then(function (result) {
        inFlight = null;
        if (result.ok) {
          say(el("pad-error"), "");
          var d = result.data || {};
          if (typeof d.participant1_score === "number") heard([d.participant1_score, d.participant2_score], d.score_version);
        } else {
          say(el("pad-error"), "Not saved — " + describe(result) + " Tap again to retry.");
          refreshAfter(result);
        }
        render();
        pump();
      });
    }

    function tap(side, delta) {
      if (m.state !== "live") return;
      if (delta < 0 && shown()[side - 1] === 0) return;
      pending[side - 1] += delta;
      render();
      pump();
    }

    ["1", "2"].forEach(function (side) {
      ["plus", "minus"].forEach(function (kind) {
        var button = el(kind + side);
        button.addEventListener("click", function () { tap(Number(side), Number(button.dataset.delta)); });
      });
    });

    // A state change ends what this screen was sending: the server's score is the truth again.
    function dropLocal() { pending = [0, 0]; }

    // The match as the server holds it (a snapshot entry, or the API's tournament document).
    function adopt(match, participants) {
      (participants || []).forEach(function (p) { m.names[p.id] = p.name; });
      m.state = match.state;
      m.version = typeof match.version === "number" ? match.version : null;
      m.participant1_id = match.participant1_id;
      m.participant2_id = match.participant2_id;
      m.winner_id = match.winner_id;
      ["best_of", "game", "series", "forfeit", "forfeited_by_id"].forEach(function (k) { if (k in match) m[k] = match[k]; });
      if (match.games) m.games = match.games.filter(function (g) { return g.state === "completed"; });
      if (match.dispute !== undefined) m.dispute = match.dispute;
      else if (match.state !== "disputed") m.dispute = null;
      heard([match.participant1_score, match.participant2_score], match.score_version);
      if (m.state !== "live") dropLocal();
      render();
    }

    // After a refusal (409) this screen was behind: read the match from the API at once rather
    // than wait for the socket (which may be reconnecting).
    function refreshAfter(result) {
      if (result.status === 409) reload();
    }

    function reload() {
      api("GET", "/api/tournaments/" + ds.tournamentId + "/").then(function (answer) {
        var match = answer.ok && answer.data && (answer.data.matches || []).filter(function (x) {
          return String(x.id) === String(matchId);
        })[0];
        if (match) adopt(match, answer.data.participants);
      });
    }

    function clearErrors() {
      ["start-error", "complete-error", "forfeit-error", "reopen-error", "dispute-error", "resolve-error", "pad-error"].forEach(function (id) {
        say(el(id), "");
      });
    }

    // --- the match room ---

    var handlers = {
      status: showStatus,
      snapshot: function (data) { adopt(data.match, data.participants); },
      event: function (frame) {
        var d = frame.data;
        if (String(d.match_id) !== String(matchId)) return;
        if (frame.type === "score_updated") {
          heard([d.participant1_score, d.participant2_score], d.score_version);
          render();
          return;
        }
        if (!newer(d, m)) return;
        if (typeof d.version === "number") m.version = d.version;
        switch (frame.type) {
          case "match_started":
            m.state = "live";
            m.participant1_id = d.participant1_id;
            m.participant2_id = d.participant2_id;
            // Decided since this screen opened (a later-round match): learn their names.
            if (!m.names[d.participant1_id] || !m.names[d.participant2_id]) reload();
            break;
          case "game_completed":
            recordGame(d);
            // the next game starts at 0:0; taps for the game that ended are no longer wanted
            Object.assign(m, { series: d.series, game: d.game + 1 });
            heard([0, 0], d.score_version);
            dropLocal();
            break;
          case "match_completed":
            if (!d.forfeit) recordGame(d);
            Object.assign(m, { state: "completed", winner_id: d.winner_id });
            ["series", "game", "forfeit", "forfeited_by_id"].forEach(function (k) { if (k in d) m[k] = d[k]; });
            heard([d.participant1_score, d.participant2_score], d.score_version);
            dropLocal();
            break;
          case "match_reopened":
            m.games = m.games.filter(function (g) { return g.number !== d.game; });
            Object.assign(m, { state: "live", winner_id: null, series: d.series, game: d.game, forfeit: false, forfeited_by_id: null });
            heard([d.participant1_score, d.participant2_score], d.score_version);
            dropLocal();
            break;
          case "dispute_created":
            m.state = "disputed";
            m.dispute = { id: d.dispute_id, reason: d.reason };
            dropLocal();
            break;
          case "dispute_resolved":
            Object.assign(m, { state: d.state, winner_id: d.winner_id, dispute: null });
            if (d.series) m.series = d.series;
            if (typeof d.game === "number") m.game = d.game;
            if (d.state === "completed") recordGame(d);  // the last game, as corrected (or kept)
            heard([d.participant1_score, d.participant2_score], d.score_version);
            dropLocal();
            break;
        }
        render();
      },
    };
    window.consoleClient = new LiveClient(socketUrl("/ws/match/" + matchId + "/"), handlers);

    // --- start, complete, dispute ---

    el("start").addEventListener("click", function () {
      var button = el("start");
      act(button, button, function () {
        return api("POST", "/api/matches/" + matchId + "/start/");
      }, function (data) {
        clearErrors();
        m.state = data.state || "live";
        render();
      }, refreshAfter);
    });

    el("complete").addEventListener("click", function () {
      cleared(el("complete"));
      confirming = true;
      render();
      el("confirm-complete-yes").focus();
    });
    el("confirm-complete-no").addEventListener("click", function () {
      confirming = false;
      render();
    });
    el("confirm-complete-yes").addEventListener("click", function () {
      var button = el("confirm-complete-yes");
      var score = shown();
      var game = m.game;  // the game confirmed: if another official ends it meanwhile, this is refused
      if (score[0] === score[1]) return;  // refused by the rules too: a tie has no winner
      act(el("complete"), button, function () {
        // Scores still being sent go first: the final score must not be overtaken by one of them.
        // A series ends its game, naming it: a retry of a completion that went through is refused.
        return whenIdle().then(function () {
          score = shown();
          var result = { participant1_score: score[0], participant2_score: score[1] };
          if (!isSeries()) return api("POST", "/api/matches/" + matchId + "/complete/", result);
          result.game = game;
          return api("POST", "/api/matches/" + matchId + "/games/complete/", result);
        });
      }, function (data) {
        clearErrors();
        confirming = false;
        dropLocal();
        if (data.completed_game) recordGame({ game: data.completed_game.number, participant1_score: data.completed_game.participant1_score,
                                              participant2_score: data.completed_game.participant2_score });
        adoptResult(data);
        render();
      }, refreshAfter);
    });

    // A result answer (docs/api.md): the match's state, series and the score of the game being played.
    function adoptResult(data) {
      if (data.state) m.state = data.state;
      if (data.winner_id !== undefined) m.winner_id = data.winner_id;
      ["game", "series", "forfeit"].forEach(function (k) { if (k in data) m[k] = data[k]; });
      if (typeof data.participant1_score === "number") {
        heard([data.participant1_score, data.participant2_score], data.score_version);
      }
    }

    [1, 2].forEach(function (side) {
      var button = el("forfeit" + side);
      button.addEventListener("click", function () {
        act(button, button, function () {
          return api("POST", "/api/matches/" + matchId + "/forfeit/", { participant_id: m["participant" + side + "_id"] });
        }, function (data) {
          clearErrors();
          el("forfeit-control").open = false;
          dropLocal();
          adoptResult(data);
          m.forfeited_by_id = m["participant" + side + "_id"];
          render();
        }, refreshAfter);
      });
    });

    if (organizer) {
      el("reopen").addEventListener("click", function () {
        cleared(el("reopen"));
        confirmingReopen = true;
        render();
      });
      el("confirm-reopen-no").addEventListener("click", function () {
        confirmingReopen = false;
        render();
      });
      el("confirm-reopen-yes").addEventListener("click", function () {
        var button = el("confirm-reopen-yes");
        act(el("reopen"), button, function () {
          return api("POST", "/api/matches/" + matchId + "/reopen/");
        }, function (data) {
          clearErrors();
          confirmingReopen = false;
          m.games = m.games.filter(function (g) { return g.number !== data.game; });
          adoptResult(data);
          Object.assign(m, { winner_id: null, forfeit: false, forfeited_by_id: null });
          render();
        }, function (result) {
          confirmingReopen = false;
          render();
          refreshAfter(result);
        });
      });
    }

    var disputeForm = el("open-dispute");
    disputeForm.addEventListener("submit", function (event) {
      event.preventDefault();
      var reason = disputeForm.elements.reason.value.trim();
      act(disputeForm, disputeForm.querySelector("button[type=submit]"), function () {
        return api("POST", "/api/matches/" + matchId + "/disputes/", { reason: reason });
      }, function (data) {
        clearErrors();
        disputeForm.elements.reason.value = "";
        el("dispute-control").open = false;
        m.state = "disputed";
        m.dispute = { id: data.dispute_id, reason: reason };
        dropLocal();
        render();
      }, refreshAfter);
    });

    var resolveForm = el("resolve-dispute");
    resolveForm.addEventListener("submit", function (event) {
      event.preventDefault();
      var body = { resolution: resolveForm.elements.resolution.value.trim() };
      if (resolveForm.elements.outcome.value === "correct") {
        var scores = [1, 2].map(function (side) {
          var input = resolveForm.elements["participant" + side + "_score"];
          return input.value === "" ? shown()[side - 1] : Number(input.value);
        });
        if (m.winner_id && scores[0] === scores[1]) {
          say(slot(resolveForm, ".error"), "Not accepted: a completed match cannot end in a tie.");
          return;
        }
        body.participant1_score = scores[0];
        body.participant2_score = scores[1];
      }
      if (!m.dispute || !m.dispute.id) {
        say(slot(resolveForm, ".error"), "This screen does not know the dispute's id: reload it, then resolve.");
        return;
      }
      var disputeId = m.dispute.id;
      act(resolveForm, resolveForm.querySelector("button[type=submit]"), function () {
        return api("POST", "/api/disputes/" + disputeId + "/resolve/", body);
      }, function (data) {
        clearErrors();
        resolveForm.reset();
        m.state = data.state || m.state;
        m.dispute = null;
        if (data.winner_id !== undefined) m.winner_id = data.winner_id;
        if (typeof data.participant1_score === "number") {
          heard([data.participant1_score, data.participant2_score], data.score_version);
        }
        render();
      }, refreshAfter);
    });

    render();
  }

  var pages = { index: indexPage, tournament: tournamentPage, match: matchPage };
  pages[root.dataset.page]();
})();

// LiveClient: a dependency-free client for the live-score WebSocket protocol (docs/protocol.md).
// Applies the snapshot, then events in sequence order per match/tournament, dropping stale or
// duplicate frames; unwraps `batch` frames into their entries (the page sees only events);
// reconnects with exponential backoff and jitter, except on 4403/4404.
(function (global) {
  "use strict";
  var NO_RETRY = { 4403: "forbidden", 4404: "not found" };

  function LiveClient(url, handlers) {
    this.url = url;
    this.handlers = handlers || {};
    this.sequences = {};  // stream ("m:<id>" or "t:<id>") -> last applied sequence
    this.attempt = 0;
    this.closed = false;
    this.connect();
  }

  LiveClient.prototype.connect = function () {
    var self = this;
    self.emit("status", "connecting");
    // After a drop, ask to resume from what we saw; the server replays what we missed, or sends a
    // fresh snapshot (with resume_failed) when its history no longer reaches back.
    var url = self.url;
    if (self.epoch !== undefined) {
      url += (url.indexOf("?") < 0 ? "?" : "&") + "resume=" +
        encodeURIComponent(JSON.stringify({ epoch: self.epoch, sequences: self.sequences }));
    }
    var socket = new WebSocket(url);
    self.socket = socket;
    socket.onopen = function () { self.attempt = 0; };
    socket.onmessage = function (event) { self.receive(JSON.parse(event.data)); };
    socket.onclose = function (event) {
      clearInterval(self.heartbeat);
      if (self.closed) return;
      if (NO_RETRY[event.code]) { self.emit("status", NO_RETRY[event.code]); return; }
      self.emit("status", "offline");
      var delay = Math.min(30000, 500 * Math.pow(2, self.attempt++));
      // 1012 tells every socket of a server at once (its link to Redis was made again): spread them out.
      if (event.code === 1012) delay = Math.max(delay, 2000);
      setTimeout(function () { self.connect(); }, delay / 2 + Math.random() * delay / 2);
    };
    self.heartbeat = setInterval(function () {
      if (socket.readyState === WebSocket.OPEN) socket.send('{"type":"ping"}');
    }, 25000);
  };

  LiveClient.prototype.receive = function (frame) {
    var data = frame.data || {};
    if (frame.type === "resumed") {
      this.emit("status", "live");
      this.emit("resumed", data);
      return;
    }
    if (frame.type === "snapshot") {
      this.epoch = data.tournament.epoch;
      this.sequences = {};
      if (data.tournament) this.sequences["t:" + data.tournament.id] = data.tournament.sequence;
      (data.matches || (data.match ? [data.match] : [])).forEach(function (m) {
        this.sequences["m:" + m.id] = m.sequence;
      }, this);
      this.emit("status", "live");
      this.emit("snapshot", data);
      return;
    }
    if (frame.type === "pong" || frame.type === "error") { this.emit(frame.type, data); return; }
    if (frame.type === "batch") {
      // The tournament room's conflated scores: each entry is a whole event frame, applied in order
      // exactly as if it had arrived alone (its own sequence check, resume position and event).
      // Anything that is not an event (no sequence: a snapshot, another batch) is ignored.
      (Array.isArray(data.frames) ? data.frames : []).forEach(function (entry) {
        if (entry && entry.data && typeof entry.data.sequence === "number") this.receive(entry);
      }, this);
      return;
    }
    var stream = data.match_id !== undefined ? "m:" + data.match_id : "t:" + data.tournament_id;
    if (typeof data.sequence === "number") {
      if (data.sequence <= (this.sequences[stream] || 0)) return;  // stale or duplicate
      this.sequences[stream] = data.sequence;
    }
    this.emit("event", frame);
  };

  LiveClient.prototype.emit = function (name, value) {
    if (this.handlers[name]) this.handlers[name](value);
  };

  LiveClient.prototype.close = function () { this.closed = true; this.socket.close(); };

  // Which of two views of a match is newer, by its change counter `version` (docs/protocol.md,
  // "Versions"); the one rule the pages share. A match event's state applies unless its version is
  // below the known one: newer(data, match). A bracket entry replaces a known match only if its
  // version is above: newer(entry, known, true). A side without a numeric version (score_updated,
  // a match not known yet) never blocks; scores are ordered by their sequence instead.
  LiveClient.newer = function (incoming, known, strictly) {
    if (!known || typeof incoming.version !== "number" || typeof known.version !== "number") return true;
    return strictly ? incoming.version > known.version : incoming.version >= known.version;
  };

  global.LiveClient = LiveClient;
})(window);

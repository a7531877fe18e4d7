"""Which events a webhook may ask for: every event of the catalogue but live scores (a score feed
moves several times a second: it is for WebSockets; each game's and match's final score arrive in
game_completed and match_completed)."""

from realtime.events import Event

WEBHOOK_EVENTS = tuple(sorted(event.value for event in Event if event is not Event.SCORE_UPDATED))

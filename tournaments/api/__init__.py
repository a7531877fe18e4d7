"""The HTTP API (docs/api.md): thin views over services and selectors, per-tournament permissions.

- `tournaments`: tournaments, participants, roles, the bracket;
- `matches`: start, live score, completion, disputes;
- `serializers`: what the API reads and answers; `access`: who may do what;
- `error_handling`, `parsers`: every failure as the one JSON error envelope.
"""

"""What the domain's rules refuse. No HTTP here: tournaments/api/error_handling.py maps each kind to a status."""

from __future__ import annotations


class DomainError(Exception):
    """A request the rules refuse; `code` is the machine-readable reason clients see, `field` the
    input it is about, if one is."""

    code = "invalid"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class Invalid(DomainError):
    """The request itself is wrong: whatever the state, it would be refused."""


class NotFound(DomainError):
    code = "not_found"


class Forbidden(DomainError):
    """The caller's part in this tournament does not allow it."""

    code = "permission_denied"


class Conflict(DomainError):
    """Valid input, wrong moment (or a duplicate): the state does not allow it."""

    code = "conflict"

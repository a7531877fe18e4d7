"""What the domain's rules refuse. No HTTP here: the API maps each kind to a status (tournaments/api.py)."""


class DomainError(Exception):
    """A request the rules refuse; `code` is the machine-readable reason clients see."""

    code = "invalid"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Invalid(DomainError):
    """The request itself is wrong: whatever the state, it would be refused."""


class NotFound(DomainError):
    code = "not_found"


class Conflict(DomainError):
    """Valid input, wrong moment: the match or tournament is not in a state that allows it."""

    code = "conflict"

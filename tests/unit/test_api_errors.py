"""How the API answers what goes wrong (pure: the exception handler's mapping)."""

import pytest
import redis
from django.db import DataError, IntegrityError, OperationalError
from rest_framework.exceptions import NotAuthenticated

from tournaments import errors
from tournaments.api import error_handling as api_errors


@pytest.mark.parametrize(
    ("exc", "status", "code"),
    [
        (errors.Invalid("no"), 400, "invalid"),
        (errors.NotFound("gone"), 404, "not_found"),
        (errors.Conflict("not now"), 409, "conflict"),
        (IntegrityError("UNIQUE constraint failed"), 409, "conflict"),
        (OperationalError("database is locked"), 503, "unavailable"),
        (redis.ConnectionError("refused"), 503, "unavailable"),
        (NotAuthenticated("who are you?"), 401, "not_authenticated"),
    ],
)
def test_each_kind_of_error_has_its_status_and_the_one_envelope(exc, status, code):
    response = api_errors.exception_handler(exc, {})
    assert response.status_code == status
    assert response.data["error"]["code"] == code
    assert response.data["error"]["message"]


def test_a_database_error_that_is_nobodys_outage_stays_a_server_error():
    # Data the database refuses is a bug of ours, not "temporarily unavailable": Django answers 500.
    assert api_errors.exception_handler(DataError("value too long"), {}) is None

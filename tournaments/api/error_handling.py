"""Every answer of the HTTP API that is not a success is the one JSON error envelope:

    {"error": {"code": "...", "message": "...", "details": ...?}}

- `exception_handler` (DRF's hook) maps what a view raises: domain errors, validation, auth,
  throttling, a constraint a concurrent request hit, an unavailable database or Redis;
- `tournaments.api.parsers.JSONParser` refuses bodies that are too large or nested too deeply;
- `JsonErrorsMiddleware` turns what never reaches a view (an unknown path, a host or body Django
  refuses, a crash, Django's debug pages) into the envelope too, for every path under /api/.
"""

from __future__ import annotations

import logging
from http import HTTPStatus

import redis
from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.db import IntegrityError, InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.deprecation import MiddlewareMixin
from kombu.exceptions import OperationalError as BrokerError
from rest_framework import serializers, status
from rest_framework.exceptions import APIException
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .. import errors

logger = logging.getLogger(__name__)

API_PREFIX = "/api/"

DOMAIN_ERROR_STATUS = {
    errors.Invalid: status.HTTP_400_BAD_REQUEST,
    errors.Forbidden: status.HTTP_403_FORBIDDEN,
    errors.NotFound: status.HTTP_404_NOT_FOUND,
    errors.Conflict: status.HTTP_409_CONFLICT,
}

# The code of an error known only by its status (Django's own answers).
CODE_OF_STATUS = {
    400: "invalid",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    429: "throttled",
    500: "internal_error",
    503: "unavailable",
}


def error_body(code: str, message: str, details=None) -> dict:
    body = {"error": {"code": code, "message": message}}
    if details is not None:
        body["error"]["details"] = details
    return body


def too_large() -> dict:
    """The answer to a body over API_MAX_BODY_BYTES (project/body_limit.py and the parser)."""
    return error_body("too_large", f"Request bodies are limited to {settings.API_MAX_BODY_BYTES} bytes.")


def _error(code: str, message: str, http_status: int, details=None) -> Response:
    return Response(error_body(code, message, details), status=http_status)


def exception_handler(exc, context):
    """DRF's exception hook: everything a view raises, as the envelope."""
    if isinstance(exc, errors.DomainError):
        details = {exc.field: [exc.message]} if exc.field else None
        return _error(exc.code, exc.message, DOMAIN_ERROR_STATUS.get(type(exc), status.HTTP_400_BAD_REQUEST), details)
    if isinstance(exc, ObjectDoesNotExist):
        # Looked up a moment ago, deleted since (a concurrent delete): it is not there now.
        return _error("not_found", "It no longer exists.", 404)
    if isinstance(exc, IntegrityError):
        # A constraint caught a concurrent change the row locks could not (e.g. a duplicate name).
        logger.info("integrity error answered with 409: %s", exc)
        return _error("conflict", "The request conflicts with the current state; reload and retry.", 409)
    if isinstance(exc, (redis.RedisError, BrokerError)):
        logger.warning("realtime backend unavailable: %s", exc)
        return _error(
            "unavailable",
            "The live-score service is temporarily unavailable; retry shortly (scores are absolute, retrying is safe).",
            503,
        )
    if isinstance(exc, (OperationalError, InterfaceError)):
        logger.warning("database unavailable: %s", exc)
        return _error("unavailable", "The database is temporarily unavailable; retry shortly.", 503)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a bug of ours: Django logs it, JsonErrorsMiddleware answers the envelope
    # DRF's response keeps its headers (Retry-After, WWW-Authenticate); only its body changes.
    if isinstance(exc, serializers.ValidationError):
        response.data = error_body("invalid", "The request body is invalid.", response.data)
    elif isinstance(exc, APIException):
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        response.data = error_body(exc.default_code, detail)
    return response


def is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX)


class JsonErrorsMiddleware(MiddlewareMixin):
    """Django's own error answers under /api/ (HTML, or DRF-less), rewritten as the envelope.
    (Oversized bodies are refused before Django, by project/body_limit.py.)"""

    def process_request(self, request: HttpRequest) -> HttpResponse | None:
        if not is_api(request):
            return None
        if not request.path.endswith("/"):
            # Django would redirect to the slashed path (losing a POST's body) or fail on a POST.
            return JsonResponse(
                error_body("not_found", f"No API endpoint at {request.path}; API paths end with /."), status=404
            )
        return None

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        if not is_api(request) or response.status_code < 400:
            return response
        if response.get("Content-Type", "").startswith("application/json"):
            return response
        code = CODE_OF_STATUS.get(response.status_code, "error")
        message = HTTPStatus(response.status_code).phrase + "."
        if response.status_code == 404:
            message = f"No API endpoint at {request.path}; see /api/schema/."
        json_response = JsonResponse(error_body(code, message), status=response.status_code)
        for header in ("Allow", "Retry-After"):
            if header in response:
                json_response[header] = response[header]
        return json_response

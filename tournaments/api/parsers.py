"""The API's JSON parser: bodies of at most API_MAX_BODY_BYTES, any nesting refused cleanly.

DRF's stock parser reads a body of any size, and lets a deeply nested one (about a kilobyte of `[`)
raise RecursionError, which is a 500. Here both are a 4xx in the error envelope. (A module of its
own: DRF imports the parser while loading its settings, so it cannot import DRF's views.)
"""

from __future__ import annotations

import json

from django.conf import settings
from rest_framework import parsers, status
from rest_framework.exceptions import APIException, ParseError


class BodyTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


class JSONParser(parsers.JSONParser):
    """JSON bodies of at most API_MAX_BODY_BYTES, any nesting a client can send refused cleanly."""

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.API_MAX_BODY_BYTES
        raw = stream.read(limit + 1)
        if len(raw) > limit:
            raise BodyTooLarge(f"Request bodies are limited to {limit} bytes.")
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            return json.loads(raw.decode(encoding), parse_constant=_refuse_constant)
        except RecursionError:
            raise ParseError("The JSON body is nested too deeply.") from None
        except (ValueError, UnicodeDecodeError) as error:
            raise ParseError(f"The body is not valid JSON: {error}") from None
        except LookupError:  # a charset codecs knows but cannot decode text with (rot13, hex, zlib)
            raise ParseError(f"Unsupported charset {encoding!r}: send UTF-8.") from None

"""Refuse oversized API request bodies before anybody reads them.

Django's ASGI handler reads a request's whole body (spooling it to disk) before any middleware
runs, so a limit checked in Django still lets a client make the server receive and store as much as
it cares to send. This ASGI wrapper answers 413 (the API's JSON error envelope) as soon as a
request under /api/ says, or turns out, to be larger than API_MAX_BODY_BYTES: at once for a
`Content-Length` over the limit, and the moment a chunked body passes it.
"""

from __future__ import annotations

import json

from django.conf import settings

from tournaments.api.error_handling import API_PREFIX, too_large


async def _refuse(send) -> None:
    body = json.dumps(too_large())
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json"), (b"connection", b"close")],
        }
    )
    await send({"type": "http.response.body", "body": body.encode()})


class ApiBodyLimit:
    def __init__(self, application) -> None:
        self.application = application

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not scope["path"].startswith(API_PREFIX):
            return await self.application(scope, receive, send)
        limit = settings.API_MAX_BODY_BYTES
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            return await _refuse(send)
        received = 0
        refused = False

        async def limited_receive():
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request" and not refused:
                received += len(message.get("body", b""))
                if received > limit:
                    refused = True
                    await _refuse(send)
                    return {"type": "http.disconnect"}  # Django stops reading and answers nothing
            return message

        async def guarded_send(message):
            if not refused:
                await send(message)

        return await self.application(scope, limited_receive, guarded_send)

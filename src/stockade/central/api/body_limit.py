"""Refuse request bodies over a size limit before anything buffers them.

Routes read whole bodies (JSON documents, policy files, form posts), so without a limit any
caller could make Central hold an arbitrarily large body in memory. A declared
``Content-Length`` over the limit is answered 413 at once; a body sent without one (chunked) is
counted as it streams and cut off with 413 as soon as it passes the limit.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from stockade.central.api.errors import error_response

MAX_REQUEST_BODY = 16 * 1024 * 1024


class BodyTooLarge(Exception):
    """Raised inside ``receive`` once a streamed body passes the limit."""


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, limit: int = MAX_REQUEST_BODY) -> None:
        self.app = app
        self.limit = limit

    def _message(self) -> str:
        return f"the request body is larger than {self.limit // (1024 * 1024)} MiB"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
                if declared < 0 or declared > self.limit:
                    status = 413 if declared > self.limit else 400
                    message = self._message() if status == 413 else "invalid Content-Length"
                    await error_response(status, message)(scope, receive, send)
                    return
                break
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if started:  # nothing sensible can be sent any more; the connection is dropped
                raise
            await error_response(413, self._message())(scope, receive, send)

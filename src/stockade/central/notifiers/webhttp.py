"""HTTP delivery shared by the webhook, Slack and Splunk notifiers (httpx).

A delivery counts only when the receiver answers 2xx. Every request carries an
``Idempotency-Key`` header, the same for each attempt at one queued notification, so a
receiver can drop the repeat that at-least-once delivery may cause (a crash between the
receiver's 2xx and the row being marked delivered).
"""

from __future__ import annotations

import functools
import json
import ssl
from collections.abc import Mapping
from typing import Any

import httpx

from stockade import __version__
from stockade.central.notifiers.base import DeliveryFailed

USER_AGENT = f"Stockade/{__version__}"
IDEMPOTENCY_HEADER = "Idempotency-Key"


@functools.lru_cache(maxsize=64)
def ssl_context(ca_pem: str, skip_verify: bool) -> ssl.SSLContext:
    """The system's trust store plus ``ca_pem`` (if any); cached, building one is slow."""
    ctx = ssl.create_default_context()
    if ca_pem:
        ctx.load_verify_locations(cadata=ca_pem)
    if skip_verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


async def post_json(
    url: str,
    host: str,
    body: Any,
    *,
    headers: Mapping[str, str] | None = None,
    auth: tuple[str, str] | None = None,
    ca_pem: str = "",
    skip_verify: bool = False,
    timeout: float = 10.0,
    idempotency_key: str = "",
) -> httpx.Response:
    """POST ``body`` as JSON; return the 2xx response or raise DeliveryFailed naming
    ``host`` (never the URL: it may hold a token)."""
    send_headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
    if idempotency_key:
        send_headers[IDEMPOTENCY_HEADER] = idempotency_key
    send_headers.update(headers or {})
    content = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    verify = ssl_context(ca_pem, skip_verify)  # cached: httpx would build one per client
    try:
        async with httpx.AsyncClient(
            verify=verify, timeout=timeout, follow_redirects=False, trust_env=False
        ) as client:
            response = await client.post(
                url,
                content=content,
                headers=send_headers,
                auth=httpx.BasicAuth(*auth) if auth else httpx.USE_CLIENT_DEFAULT,
            )
    except httpx.TimeoutException as exc:
        raise DeliveryFailed(f"{host} did not answer within {timeout:g} s") from exc
    except httpx.ConnectError as exc:
        raise DeliveryFailed(f"cannot connect to {host}: {_reason(exc)}") from exc
    except httpx.HTTPError as exc:
        raise DeliveryFailed(f"request to {host} failed: {type(exc).__name__}") from exc
    status = response.status_code
    if 200 <= status < 300:
        return response
    retryable = status >= 500 or status in (408, 425, 429)
    raise DeliveryFailed(f"{host} answered HTTP {status}", retryable=retryable)


def _reason(exc: BaseException) -> str:
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return f"certificate not trusted ({cause.verify_message})"
        if isinstance(cause, ssl.SSLError):
            return "TLS handshake failed"
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, OSError) and cause.strerror:
            return cause.strerror.lower()
        cause = cause.__cause__ or cause.__context__
    return "connection failed"

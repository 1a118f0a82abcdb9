"""Central's errors: each maps to one HTTP status and one entry of the API's error shape.

CentralError (StockadeError)
├── BadRequest            400  malformed body, bad query syntax, invalid field
├── Unauthenticated       401  no or wrong credentials
├── Forbidden             403  authenticated but the role does not allow it
├── NotFound              404
├── Conflict              409
├── TooManyRequests       429  e.g. failed logins from one source
├── DatabaseUnavailable   503  Central DB cannot be reached right now
└── StartupError          —    Central cannot start (one line, non-zero exit)
"""

from __future__ import annotations

from stockade.core.errors import StockadeError


class CentralError(StockadeError):
    status: int = 500
    code: int = 13  # gRPC status code, as the product's gateway reports it


class BadRequest(CentralError):
    status = 400
    code = 3


class Unauthenticated(CentralError):
    status = 401
    code = 16


class Forbidden(CentralError):
    status = 403
    code = 7


class NotFound(CentralError):
    status = 404
    code = 5


class Conflict(CentralError):
    status = 409
    code = 6


class TooManyRequests(CentralError):
    status = 429
    code = 8


class DatabaseUnavailable(CentralError):
    status = 503
    code = 14


class StartupError(CentralError):
    """Central cannot start; the CLI prints the message and exits non-zero."""

    exit_code = 3

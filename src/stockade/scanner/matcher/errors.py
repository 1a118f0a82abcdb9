"""Errors of the Matcher's store.

StoreError            the Scanner DB cannot be reached, migrated or written (exit code 3)
BundleError           an offline bundle is unreadable, incomplete or fails its checksums
MatcherError          anything else the Matcher raises on purpose
├── InvalidVersionError   a version string its scheme cannot read
└── InvalidRangeError     a version range or constraint string its scheme cannot read

Version and range messages name the scheme and the offending text (public data, never a
secret), so the feed record or index report that carries it can be found.
"""

from __future__ import annotations

from stockade.core.errors import StockadeError


class StoreError(StockadeError):
    """The vulnerability store (Scanner DB) failed."""

    exit_code = 3


class BundleError(StockadeError):
    """An offline bundle is malformed or does not match its manifest."""

    exit_code = 1


class MatcherError(StockadeError):
    """Base class of the Matcher's other errors."""

    exit_code = 3


class InvalidVersionError(MatcherError, ValueError):
    """A version string is not valid in its scheme."""

    def __init__(self, scheme: str, version: str, reason: str = "") -> None:
        detail = f": {reason}" if reason else ""
        super().__init__(f"{version!r} is not a valid {scheme} version{detail}.")
        self.scheme = scheme
        self.version = version


class InvalidRangeError(MatcherError, ValueError):
    """A version range or constraint string is not valid in its scheme."""

    def __init__(self, scheme: str, spec: str, reason: str = "") -> None:
        detail = f": {reason}" if reason else ""
        super().__init__(f"{spec!r} is not a valid {scheme} version range{detail}.")
        self.scheme = scheme
        self.spec = spec

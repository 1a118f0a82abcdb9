"""Errors of the vulnerability sources.

    SourceError                 a source could not be updated (exit code 3)
    ├── FetchError              the upstream could not be reached or answered badly
    ├── ChecksumError           a file's digest differs from the one published beside it
    └── ParseError              a file or one record in it is malformed; names both

The message is one sentence naming the source, the file and, where known, the record, so an
operator can find the bad input. Causes are chained with ``raise ... from exc``.
"""

from __future__ import annotations

from stockade.core.errors import StockadeError


class SourceError(StockadeError):
    """A vulnerability source failed to update."""

    exit_code = 3


class FetchError(SourceError):
    """The upstream could not be reached or answered with an error."""


class ChecksumError(SourceError):
    """A downloaded or offline file does not match its published checksum."""

    def __init__(self, source: str, file: str, want: str, got: str) -> None:
        super().__init__(
            f"{source}: {file}: checksum mismatch (expected sha256 {want[:16]}..., "
            f"got {got[:16]}...)"
        )
        self.source = source
        self.file = file


class ParseError(SourceError):
    """A feed file, or one record inside it, is malformed."""

    def __init__(self, source: str, file: str, record: str, reason: str) -> None:
        where = f"{file}: record {record}" if record else file
        super().__init__(f"{source}: {where}: {reason}")
        self.source = source
        self.file = file
        self.record = record
        self.reason = reason


class ConfigSourceError(SourceError):
    """A source was named or configured wrongly (a usage error)."""

    exit_code = 2

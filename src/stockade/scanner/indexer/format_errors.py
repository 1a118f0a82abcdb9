"""Errors of the package-database and artifact parsers (rpm databases, Go build info, Java
archives, cargo-auditable data).

    IndexerError (stockade.scanner.indexer.errors)
    └── FormatError                  a package database or artifact could not be parsed
        ├── FormatLimitError         a hard limit against malformed input was hit
        ├── RpmDatabaseError         an rpm database (SQLite, Berkeley DB hash, NDB) is unreadable
        │   └── RpmHeaderError       one rpm header blob is malformed
        ├── ExecutableError          an ELF / PE / Mach-O file is malformed
        ├── GoBuildInfoError         Go build information is present but malformed
        ├── RustAuditError           cargo-auditable data is present but malformed
        └── JavaArchiveError         a jar/war/ear is not a readable zip archive

A parser raises only these (lower-level exceptions are chained with ``raise ... from``); input
that simply is not of the parser's kind (an ELF binary that is not a Go program) is not an
error: the parser returns ``None`` or an empty result. Messages are one sentence and never
quote file contents beyond a short, printable name.
"""

from __future__ import annotations

from stockade.scanner.indexer.errors import IndexerError


class FormatError(IndexerError):
    """A package database or artifact could not be parsed."""


class FormatLimitError(FormatError):
    """Parsing stopped because a hard limit (size, count, depth) was exceeded."""


class RpmDatabaseError(FormatError):
    """An rpm database cannot be read."""


class RpmHeaderError(RpmDatabaseError):
    """An rpm header blob is malformed."""


class ExecutableError(FormatError):
    """An executable file's headers are malformed."""


class GoBuildInfoError(FormatError):
    """A Go binary's build information is malformed."""


class RustAuditError(FormatError):
    """A binary's cargo-auditable dependency data is malformed."""


class JavaArchiveError(FormatError):
    """A Java archive cannot be read."""

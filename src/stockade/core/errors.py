"""The root of Stockade's error tree.

    StockadeError                  anything Stockade raises on purpose; ``str()`` is one sentence
    ├── ConfigError                bad flags, environment or configuration file
    ├── PKIError                   certificate authority or key material unusable
    └── (per boundary)             each component defines its own subtree, e.g.
        central.errors.CentralError, scanner errors, policy errors

Every subclass carries a user-facing message that never contains a secret, and an exit code
the CLI uses. Lower-level exceptions are chained with ``raise ... from exc`` so logs keep the
cause while users see one sentence.
"""

from __future__ import annotations


class StockadeError(Exception):
    """Base class: a failure Stockade understands and can explain in one sentence."""

    exit_code: int = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigError(StockadeError):
    """Configuration (flags, environment, file) is invalid."""

    exit_code = 2


class PKIError(StockadeError):
    """Certificates or keys cannot be created, loaded or used."""

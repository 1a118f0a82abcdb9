"""The Indexer's cache in Scanner DB (PostgreSQL, psycopg 3), and an in-memory twin.

Two tables:

* ``indexer_layer_results``: one row per (layer diff_id, analyser name, analyser version)
  holding that analyser's findings for that layer as JSON. A layer shared by many images is
  read once per analyser version.
* ``indexer_reports``: the index report per manifest digest, with the fingerprint of the
  analyser set that produced it (a new analyser version makes the stored report stale, but
  only the changed analyser re-reads layers).

Migrations are numbered SQL statements applied in order under an advisory lock, recorded in
``indexer_schema_migrations``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import Protocol, cast

import psycopg
from psycopg.types.json import Jsonb

from stockade.core.redact import redact
from stockade.model.index_report import IndexReport, ReportDict, report_from_dict, report_to_dict
from stockade.scanner.indexer.errors import IndexerError

logger = logging.getLogger(__name__)

LayerKey = tuple[str, str, str]  # diff_id, analyser, version

MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE indexer_layer_results (
        diff_id TEXT NOT NULL,
        analyser TEXT NOT NULL,
        analyser_version TEXT NOT NULL,
        result JSONB NOT NULL,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        PRIMARY KEY (diff_id, analyser, analyser_version)
    );
    CREATE TABLE indexer_reports (
        manifest_digest TEXT PRIMARY KEY,
        fingerprint TEXT NOT NULL,
        report JSONB NOT NULL,
        updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
    );
    """,
)
_LOCK_ID = 0x5374_6B49  # advisory lock for migrations


class StoreError(IndexerError):
    pass


class IndexStore(Protocol):
    def layer_results(self, diff_ids: Iterable[str]) -> dict[LayerKey, object]: ...

    def put_layer_results(self, rows: dict[LayerKey, object]) -> None: ...

    def report(self, manifest_digest: str, fingerprint: str) -> IndexReport | None: ...

    def put_report(self, report: IndexReport, fingerprint: str) -> None: ...

    def stored_report(self, manifest_digest: str) -> IndexReport | None:
        """The report for this digest, whichever analyser set produced it."""
        ...


class MemoryStore:
    """The same contract in a dict, for one process (the CLI without --db-url, tests)."""

    def __init__(self) -> None:
        self.layers: dict[LayerKey, str] = {}
        self.reports: dict[str, tuple[str, str]] = {}

    def layer_results(self, diff_ids: Iterable[str]) -> dict[LayerKey, object]:
        wanted = set(diff_ids)
        return {k: json.loads(v) for k, v in self.layers.items() if k[0] in wanted}

    def put_layer_results(self, rows: dict[LayerKey, object]) -> None:
        for k, v in rows.items():
            self.layers[k] = json.dumps(v)

    def report(self, manifest_digest: str, fingerprint: str) -> IndexReport | None:
        row = self.reports.get(manifest_digest)
        if row is None or row[0] != fingerprint:
            return None
        return report_from_dict(cast(ReportDict, json.loads(row[1])))

    def put_report(self, report: IndexReport, fingerprint: str) -> None:
        self.reports[report.manifest_digest] = (fingerprint, json.dumps(report_to_dict(report)))

    def stored_report(self, manifest_digest: str) -> IndexReport | None:
        row = self.reports.get(manifest_digest)
        return report_from_dict(cast(ReportDict, json.loads(row[1]))) if row else None


class PostgresStore:
    def __init__(self, url: str) -> None:
        self._url = url
        try:
            self._conn = psycopg.connect(url, autocommit=True, connect_timeout=10)
        except psycopg.Error as exc:
            raise StoreError(
                f"Scanner DB at {redact(url)} cannot be reached ({type(exc).__name__})."
            ) from exc
        self.migrate()

    def migrate(self) -> None:
        with self._conn.transaction():
            self._conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_ID,))
            self._conn.execute(
                "CREATE TABLE IF NOT EXISTS indexer_schema_migrations "
                "(version INT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
            )
            row = self._conn.execute(
                "SELECT coalesce(max(version), 0) FROM indexer_schema_migrations"
            ).fetchone()
            current = int(row[0]) if row else 0
            for version, sql in enumerate(MIGRATIONS, start=1):
                if version <= current:
                    continue
                logger.info("applying indexer migration %d", version)
                self._conn.execute(sql.encode())
                self._conn.execute(
                    "INSERT INTO indexer_schema_migrations (version) VALUES (%s)", (version,)
                )

    def layer_results(self, diff_ids: Iterable[str]) -> dict[LayerKey, object]:
        rows = self._conn.execute(
            "SELECT diff_id, analyser, analyser_version, result FROM indexer_layer_results "
            "WHERE diff_id = ANY(%s)",
            (list(diff_ids),),
        ).fetchall()
        return {(r[0], r[1], r[2]): r[3] for r in rows}

    def put_layer_results(self, rows: dict[LayerKey, object]) -> None:
        if not rows:
            return
        with self._conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO indexer_layer_results (diff_id, analyser, analyser_version, result) "
                "VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
                [(k[0], k[1], k[2], Jsonb(v)) for k, v in rows.items()],
            )

    def report(self, manifest_digest: str, fingerprint: str) -> IndexReport | None:
        row = self._conn.execute(
            "SELECT report FROM indexer_reports WHERE manifest_digest = %s AND fingerprint = %s",
            (manifest_digest, fingerprint),
        ).fetchone()
        return report_from_dict(cast(ReportDict, row[0])) if row else None

    def put_report(self, report: IndexReport, fingerprint: str) -> None:
        self._conn.execute(
            "INSERT INTO indexer_reports (manifest_digest, fingerprint, report) "
            "VALUES (%s, %s, %s) ON CONFLICT (manifest_digest) DO UPDATE "
            "SET fingerprint = EXCLUDED.fingerprint, report = EXCLUDED.report, updated_at = now()",
            (report.manifest_digest, fingerprint, Jsonb(report_to_dict(report))),
        )

    def stored_report(self, manifest_digest: str) -> IndexReport | None:
        row = self._conn.execute(
            "SELECT report FROM indexer_reports WHERE manifest_digest = %s", (manifest_digest,)
        ).fetchone()
        return report_from_dict(cast(ReportDict, row[0])) if row else None

    def close(self) -> None:
        self._conn.close()

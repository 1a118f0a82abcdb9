"""The vulnerability store in Scanner DB (PostgreSQL through psycopg 3).

Each source's update replaces that source's records atomically: the records stream from the
parser through ``COPY`` into a temporary staging table, and only when the whole feed parsed
does one short statement pair delete the source's old rows and insert the staged ones, in the
same transaction that stores the new fingerprint. A parse error, a bad checksum or a lost
connection rolls everything back: readers keep seeing the last good data.

Every update run is recorded in ``update_run`` (source, start, end, fingerprint, status,
record count, error), written in its own autocommit transaction so failed runs are kept too.
"""

from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import psycopg
from psycopg.rows import tuple_row

from stockade.core.errors import StockadeError
from stockade.core.redact import redact
from stockade.model.vulnerability import Vulnerability
from stockade.scanner.matcher.errors import StoreError
from stockade.scanner.matcher.sources.base import Unchanged, Updater
from stockade.scanner.matcher.sources.errors import SourceError

logger = logging.getLogger(__name__)

_COLUMNS = (
    "source",
    "id",
    "aliases",
    "package",
    "ecosystem",
    "distribution",
    "release",
    "cpes",
    "version_scheme",
    "fixed_version",
    "state",
    "severity",
    "record",
)


@dataclass(frozen=True, slots=True)
class SourceState:
    name: str
    fingerprint: str
    updated_at: datetime | None
    record_count: int


@dataclass(frozen=True, slots=True)
class UpdateRun:
    source: str
    started: datetime
    finished: datetime | None
    fingerprint: str
    status: str  # running, updated, unchanged, failed
    records: int
    error: str


class VulnerabilityStore:
    """Scanner DB access for vulnerability records, source state and update runs."""

    def __init__(self, url: str) -> None:
        self.url = url

    def _connect(self, *, autocommit: bool = False) -> psycopg.Connection[tuple[object, ...]]:
        try:
            return psycopg.connect(self.url, autocommit=autocommit, row_factory=tuple_row)
        except psycopg.Error as exc:
            raise StoreError(
                f"cannot connect to Scanner DB at {redact(self.url)} ({type(exc).__name__})"
            ) from exc

    # -- schema ------------------------------------------------------------------------------
    def migrate(self) -> list[str]:
        """Apply the SQL migrations not applied yet (in name order); return their names."""
        package = resources.files("stockade.scanner.matcher.migrations")
        scripts = sorted(
            (p.name, p.read_text()) for p in package.iterdir() if p.name.endswith(".sql")
        )
        applied: list[str] = []
        with self._connect() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('stockade-matcher-migrate'))")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS matcher_migration "
                "(name text PRIMARY KEY, applied timestamptz NOT NULL DEFAULT now())"
            )
            done = {r[0] for r in conn.execute("SELECT name FROM matcher_migration")}
            for name, sql in scripts:
                if name in done:
                    continue
                conn.execute(sql.encode())
                conn.execute("INSERT INTO matcher_migration (name) VALUES (%s)", (name,))
                applied.append(name)
        return applied

    # -- reading -------------------------------------------------------------------------------
    def source_state(self, name: str) -> SourceState | None:
        with self._connect() as conn:
            row = conn.execute(
                "SELECT name, fingerprint, updated_at, record_count FROM vuln_source "
                "WHERE name = %s",
                (name,),
            ).fetchone()
        if row is None:
            return None
        return SourceState(str(row[0]), str(row[1]), _dt(row[2]), int(str(row[3])))

    def sources(self) -> list[SourceState]:
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT name, fingerprint, updated_at, record_count FROM vuln_source ORDER BY name"
            ).fetchall()
        return [SourceState(str(r[0]), str(r[1]), _dt(r[2]), int(str(r[3]))) for r in rows]

    def runs(self, source: str | None = None) -> list[UpdateRun]:
        sql = (
            "SELECT source, started, finished, fingerprint, status, records, error FROM update_run"
        )
        params: tuple[str, ...] = ()
        if source is not None:
            sql += " WHERE source = %s"
            params = (source,)
        with self._connect() as conn:
            rows = conn.execute(sql + " ORDER BY run_id", params).fetchall()
        return [
            UpdateRun(
                str(r[0]),
                _dt(r[1]) or datetime.now(UTC),
                _dt(r[2]),
                str(r[3]),
                str(r[4]),
                int(str(r[5])),
                str(r[6]),
            )
            for r in rows
        ]

    def count(self, source: str | None = None) -> int:
        with self._connect() as conn:
            if source is None:
                row = conn.execute("SELECT count(*) FROM vulnerability").fetchone()
            else:
                row = conn.execute(
                    "SELECT count(*) FROM vulnerability WHERE source = %s", (source,)
                ).fetchone()
        return int(str(row[0])) if row else 0

    def records(self, source: str | None = None) -> Iterator[Vulnerability]:
        """Every stored record (of one source), streamed with a server-side cursor."""
        # jsonb travels as text and is decoded here: several times faster than the driver's
        # per-value jsonb loader for tens of thousands of rows
        with self._connect() as conn, conn.cursor(name="vuln_export") as cur:
            cur.itersize = 2000
            if source is None:
                cur.execute("SELECT record::text FROM vulnerability ORDER BY source, id, package")
            else:
                cur.execute(
                    "SELECT record::text FROM vulnerability WHERE source = %s ORDER BY id, package",
                    (source,),
                )
            for (record,) in cur:
                yield Vulnerability.from_dict(_as_mapping(record))

    def for_packages(
        self,
        *,
        distribution: str = "",
        release: str = "",
        ecosystem: str = "",
        packages: Sequence[str],
    ) -> list[Vulnerability]:
        """Records for these package names in one OS release or one ecosystem."""
        with self._connect() as conn:
            if ecosystem:
                rows = conn.execute(
                    "SELECT record::text FROM vulnerability WHERE ecosystem = %s "
                    "AND package = ANY(%s)",
                    (ecosystem, list(packages)),
                ).fetchall()
            else:
                rows = conn.execute(
                    "SELECT record::text FROM vulnerability WHERE distribution = %s "
                    "AND release = %s "
                    "AND package = ANY(%s)",
                    (distribution, release, list(packages)),
                ).fetchall()
        return [Vulnerability.from_dict(_as_mapping(r[0])) for r in rows]

    # -- writing -------------------------------------------------------------------------------
    def replace_source(self, name: str, records: Iterable[Vulnerability], fingerprint: str) -> int:
        """Atomically replace every record of source ``name``; return how many were stored.

        ``records`` may be a lazy parser: any exception it raises aborts the update and leaves
        the previous records and fingerprint in place.
        """
        count = 0
        try:
            with self._connect() as conn:
                conn.execute("CREATE TEMP TABLE vuln_staging (LIKE vulnerability) ON COMMIT DROP")
                with (
                    conn.cursor() as cur,
                    cur.copy(f"COPY vuln_staging ({', '.join(_COLUMNS)}) FROM STDIN") as copy,
                ):
                    for rec in records:
                        if rec.source != name:
                            raise SourceError(f"{name}: a record claims source {rec.source!r}")
                        copy.write_row(_row(rec))
                        count += 1
                conn.execute("DELETE FROM vulnerability WHERE source = %s", (name,))
                conn.execute(
                    f"INSERT INTO vulnerability ({', '.join(_COLUMNS)}) "
                    f"SELECT {', '.join(_COLUMNS)} FROM vuln_staging"
                )
                conn.execute(
                    "INSERT INTO vuln_source (name, fingerprint, updated_at, record_count) "
                    "VALUES (%s, %s, now(), %s) ON CONFLICT (name) DO UPDATE SET "
                    "fingerprint = EXCLUDED.fingerprint, updated_at = EXCLUDED.updated_at, "
                    "record_count = EXCLUDED.record_count",
                    (name, fingerprint, count),
                )
        except psycopg.Error as exc:
            raise StoreError(
                f"{name}: storing records failed ({type(exc).__name__}: "
                f"{redact(str(exc).splitlines()[0] if str(exc) else '')})"
            ) from exc
        logger.info("%s: stored %d records", name, count)
        return count

    def set_fingerprint(self, name: str, fingerprint: str) -> None:
        with self._connect() as conn:
            conn.execute(
                "UPDATE vuln_source SET fingerprint = %s WHERE name = %s", (fingerprint, name)
            )

    def _start_run(self, source: str) -> int:
        with self._connect(autocommit=True) as conn:
            row = conn.execute(
                "INSERT INTO update_run (source, started, status) VALUES (%s, now(), 'running') "
                "RETURNING run_id",
                (source,),
            ).fetchone()
        assert row is not None
        return int(str(row[0]))

    def _finish_run(
        self, run_id: int, status: str, fingerprint: str, records: int, error: str
    ) -> None:
        with self._connect(autocommit=True) as conn:
            conn.execute(
                "UPDATE update_run SET finished = now(), status = %s, fingerprint = %s, "
                "records = %s, error = %s WHERE run_id = %s",
                (status, fingerprint, records, error, run_id),
            )

    # -- one source's update -------------------------------------------------------------------
    def update(self, updater: Updater, workdir: Path | None = None) -> UpdateRun:
        """Fetch, parse and store one source; failures are recorded, logged and returned."""
        name = updater.name
        run_id = self._start_run(name)
        started = datetime.now(UTC)
        state = self.source_state(name)
        old_fp = state.fingerprint if state else ""
        status, fingerprint, records, error = "failed", old_fp, 0, ""
        try:
            with tempfile.TemporaryDirectory(prefix=f"stockade-{name}-", dir=workdir) as tmp:
                result = updater.fetch(old_fp, Path(tmp))
                if isinstance(result, Unchanged):
                    status, fingerprint = "unchanged", result.fingerprint
                    records = state.record_count if state else 0
                    if state is not None and result.fingerprint != old_fp:
                        self.set_fingerprint(name, result.fingerprint)
                else:
                    records = self.replace_source(
                        name, updater.parse(result.path), result.fingerprint
                    )
                    status, fingerprint = "updated", result.fingerprint
        except StockadeError as exc:
            error = exc.message
            logger.warning("update of %s failed: %s", name, error)
        except OSError as exc:
            error = f"{name}: {exc.strerror or exc}"
            logger.warning("update of %s failed: %s", name, error)
        self._finish_run(run_id, status, fingerprint, records, error)
        return UpdateRun(name, started, datetime.now(UTC), fingerprint, status, records, error)

    def update_all(
        self, updaters: Iterable[Updater], workdir: Path | None = None
    ) -> list[UpdateRun]:
        """Update each source in turn; one source failing never stops the others."""
        return [self.update(u, workdir) for u in updaters]


def _row(rec: Vulnerability) -> tuple[object, ...]:
    return (
        rec.source,
        rec.id,
        list(rec.aliases),
        rec.package,
        rec.ecosystem,
        rec.distribution,
        rec.release,
        list(rec.cpes),
        rec.version_scheme,
        rec.fixed_version,
        rec.state.value,
        rec.severity.value,
        json.dumps(rec.to_dict(), separators=(",", ":")),
    )


def _dt(value: object) -> datetime | None:
    return value if isinstance(value, datetime) else None


def _as_mapping(value: object) -> dict[str, object]:
    if isinstance(value, str):
        value = json.loads(value)
    if not isinstance(value, dict):
        raise StoreError("a stored record is not a JSON object")
    return value

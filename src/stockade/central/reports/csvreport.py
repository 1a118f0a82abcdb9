"""A vulnerability report: one CSV row per (deployment, image, component, CVE) in a
collection, filtered by the configuration, in a fixed order, written straight into a zip.

Rows come from a server-side cursor in batches and go through the csv module into a
deflated zip member as they arrive, so the only whole copy of a report in memory is the
compressed one (kept in Central DB for download or a retried email, and attached to the
mail). The zip is bounded: past ``max_bytes`` the run fails with that reason.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from dataclasses import dataclass

import psycopg
from psycopg import sql
from psycopg.rows import tuple_row

from stockade.central.db.database import Database
from stockade.central.reports.collections import DEPLOYMENTS_FROM, Selector, selectors_sql
from stockade.central.reports.configs import ReportConfig
from stockade.central.reports.errors import ReportFailed
from stockade.central.sqlparams import Params

BATCH = 2000
# A report is a background job reading a whole collection's findings: it gets longer than
# the API's per-statement limit (db/database.py), which a large collection's sort exceeds.
QUERY_TIMEOUT_MS = 600_000

# (header, SQL giving the cell as text): PostgreSQL formats every cell, so each row goes to
# the csv writer as it arrives (formatting in Python was most of the time per row).
_CVSS = "coalesce(round({}::numeric, 1)::text, '')"  # float4 -> numeric keeps 9.8 as 9.8
BASE_COLUMNS = (
    ("Cluster", "cl.name"),
    ("Namespace", "d.namespace"),
    ("Deployment", "d.name"),
    ("Image", "i.name"),
    ("Component", "ic.name"),
    ("Component Version", "ic.version"),
    ("CVE", "f.cve_id"),
    ("Fixable", "CASE WHEN f.fixable THEN 'true' ELSE 'false' END"),
    ("Fixed By", "f.fixed_by"),
    ("Severity", "f.severity"),
    ("CVSS", _CVSS.format("f.cvss")),
)
NVD_CVSS = ("NVD CVSS", _CVSS.format("f.nvd_cvss"))
EPSS = ("EPSS", "coalesce(trim_scale(round(c.epss::numeric, 5))::text, '')")
TAIL_COLUMNS = (
    (
        "Discovered At",
        "to_char(f.first_seen_image AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')",
    ),
    (
        "Reference link",
        "CASE WHEN starts_with(f.cve_id, 'CVE-')"
        " THEN 'https://nvd.nist.gov/vuln/detail/' || f.cve_id"
        " WHEN starts_with(f.cve_id, 'GHSA-') THEN 'https://github.com/advisories/' || f.cve_id"
        " ELSE 'https://osv.dev/vulnerability/' || f.cve_id END",
    ),
)

_ROWS = sql.SQL(
    "SELECT {columns}"
    " FROM {deployments}"
    " JOIN (SELECT DISTINCT deployment_id, image_id FROM deployment_images"
    "       WHERE image_id IS NOT NULL) di ON di.deployment_id = d.id"
    " JOIN images i ON i.id = di.image_id"
    " JOIN image_cves f ON f.image_id = i.id"
    " JOIN image_components ic ON ic.image_id = f.image_id AND ic.idx = f.component_idx"
    " JOIN cves c ON c.id = f.cve_id"
    " WHERE {where}"
    " ORDER BY cl.name, d.namespace, d.name, d.id, i.name, i.id, ic.name, ic.version,"
    " f.component_idx, f.cve_id"
)


@dataclass(frozen=True)
class Report:
    content: bytes  # the zip
    rows: int
    data_as_of: dt.datetime
    filename: str


def columns(cfg: ReportConfig) -> list[tuple[str, str]]:
    cols = list(BASE_COLUMNS)
    if cfg.include_nvd_cvss:
        cols.append(NVD_CVSS)
    if cfg.include_epss:
        cols.append(EPSS)
    return cols + list(TAIL_COLUMNS)


def findings_filter(
    cfg: ReportConfig,
    selectors: tuple[Selector, ...],
    last_sent_at: dt.datetime | None,
    p: Params,
) -> sql.Composable:
    """Which findings a run reports: the collection's deployments, observed findings only
    (deferred and false-positive ones are left out, as the API does), the filters."""
    conds: list[sql.Composable] = [selectors_sql(selectors, p), sql.SQL("f.state = 'OBSERVED'")]
    if cfg.severities:
        conds.append(sql.SQL("f.severity = ANY({})").format(p.add(list(cfg.severities))))
    if cfg.fixability == "FIXABLE":
        conds.append(sql.SQL("f.fixable"))
    elif cfg.fixability == "NOT_FIXABLE":
        conds.append(sql.SQL("NOT f.fixable"))
    since = cfg.start_date if cfg.since == "START_DATE" else None
    if cfg.since == "SINCE_LAST_SENT":
        since = last_sent_at  # None (never sent): everything
    if since is not None:
        conds.append(sql.SQL("f.first_seen_image > {}").format(p.add(since)))
    return sql.SQL(" AND ").join(conds)


def _too_large(max_bytes: int) -> ReportFailed:
    return ReportFailed(
        f"the zipped report is larger than the limit of {max_bytes} bytes (report_max_bytes);"
        " narrow its collection or filters",
        retryable=False,
    )


async def generate(
    db: Database,
    cfg: ReportConfig,
    selectors: tuple[Selector, ...],
    *,
    last_sent_at: dt.datetime | None,
    max_bytes: int,
    name: str,
    as_of: dt.datetime,
) -> Report:
    """``as_of``: the data cut recorded with the report (taken before the rows are read)."""
    p = Params()
    cols = columns(cfg)
    query = _ROWS.format(
        columns=sql.SQL(", ").join(sql.SQL(expr) for _, expr in cols),
        deployments=DEPLOYMENTS_FROM,
        where=findings_filter(cfg, selectors, last_sent_at, p),
    )
    spool = io.BytesIO()
    count = 0
    async with db.connection() as conn:
        with (
            zipfile.ZipFile(spool, "w", compression=zipfile.ZIP_DEFLATED) as zf,
            zf.open(f"{name}.csv", "w", force_zip64=True) as raw,
        ):
            text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
            writer = csv.writer(text)
            writer.writerow([header for header, _ in cols])
            await conn.execute(
                "SELECT set_config('statement_timeout', %s, true)",
                (f"{QUERY_TIMEOUT_MS}ms",),
            )
            # server-side: batches, not all rows; tuples of text straight to the writer
            cur = conn.cursor(name="report_rows", row_factory=tuple_row)
            try:
                await cur.execute(query, p)
                while batch := await cur.fetchmany(BATCH):
                    writer.writerows(batch)
                    count += len(batch)
                    if spool.tell() > max_bytes:
                        raise _too_large(max_bytes)
            except psycopg.errors.QueryCanceled as exc:
                # a report, not the database, is the problem: fail the job with the reason
                # (as a lost connection it would be leased and retried for ever)
                raise ReportFailed(
                    f"reading the report's rows took longer than {QUERY_TIMEOUT_MS / 1000:g} s;"
                    " narrow its collection or filters",
                    retryable=False,
                ) from exc
            await cur.close()
            text.flush()
            text.detach()
    content = spool.getvalue()
    if len(content) > max_bytes:
        raise _too_large(max_bytes)
    return Report(content, count, as_of, f"{name}.zip")

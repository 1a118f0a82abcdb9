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
from typing import Any

from psycopg import sql

from stockade.central.db.database import Database
from stockade.central.reports.collections import DEPLOYMENTS_FROM, Selector, selectors_sql
from stockade.central.reports.configs import ReportConfig
from stockade.central.reports.errors import ReportFailed
from stockade.central.sqlparams import Params

BATCH = 2000
BASE_COLUMNS = (
    "Cluster",
    "Namespace",
    "Deployment",
    "Image",
    "Component",
    "Component Version",
    "CVE",
    "Fixable",
    "Fixed By",
    "Severity",
    "CVSS",
)
TAIL_COLUMNS = ("Discovered At", "Reference link")

_ROWS = sql.SQL(
    "SELECT cl.name AS cluster, d.namespace, d.name AS deployment, i.name AS image,"
    " ic.name AS component, ic.version, f.cve_id, f.fixable, f.fixed_by, f.severity, f.cvss,"
    " f.nvd_cvss, c.epss, f.first_seen_image"
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


def columns(cfg: ReportConfig) -> list[str]:
    cols = list(BASE_COLUMNS)
    if cfg.include_nvd_cvss:
        cols.append("NVD CVSS")
    if cfg.include_epss:
        cols.append("EPSS")
    return cols + list(TAIL_COLUMNS)


def reference_link(vuln_id: str) -> str:
    if vuln_id.startswith("CVE-"):
        return f"https://nvd.nist.gov/vuln/detail/{vuln_id}"
    if vuln_id.startswith("GHSA-"):
        return f"https://github.com/advisories/{vuln_id}"
    return f"https://osv.dev/vulnerability/{vuln_id}"


def _ts(value: dt.datetime | None) -> str:
    if value is None:
        return ""
    return value.astimezone(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _cvss(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"  # float4: 9.8 arrives as 9.800000190734863


def _epss(value: float | None) -> str:
    return "" if value is None else f"{round(value, 5):g}"


def csv_row(r: dict[str, Any], cfg: ReportConfig) -> list[str]:
    row = [
        r["cluster"],
        r["namespace"],
        r["deployment"],
        r["image"],
        r["component"],
        r["version"],
        r["cve_id"],
        "true" if r["fixable"] else "false",
        r["fixed_by"],
        r["severity"],
        _cvss(r["cvss"]),
    ]
    if cfg.include_nvd_cvss:
        row.append(_cvss(r["nvd_cvss"]))
    if cfg.include_epss:
        row.append(_epss(r["epss"]))
    return [*row, _ts(r["first_seen_image"]), reference_link(r["cve_id"])]


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
    query = _ROWS.format(
        deployments=DEPLOYMENTS_FROM, where=findings_filter(cfg, selectors, last_sent_at, p)
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
            writer.writerow(columns(cfg))
            cur = conn.cursor(name="report_rows")  # server-side: batches, not all rows
            await cur.execute(query, p)
            while batch := await cur.fetchmany(BATCH):
                writer.writerows(csv_row(r, cfg) for r in batch)
                count += len(batch)
                if spool.tell() > max_bytes:
                    raise _too_large(max_bytes)
            await cur.close()
            text.flush()
            text.detach()
    content = spool.getvalue()
    if len(content) > max_bytes:
        raise _too_large(max_bytes)
    return Report(content, count, as_of, f"{name}.zip")

"""Report configurations (the product's v2 ``ReportConfiguration`` JSON): which collection,
which findings (severities, fixability, since when), which optional columns, when to run
and whom to mail. ``parse_config`` checks a document and names the first wrong field;
database checks (the collection and notifiers exist) are the store's."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from stockade.central.notifiers.fields import email_address
from stockade.central.reports.errors import InvalidReport
from stockade.central.reports.schedule import Schedule, parse_schedule

Fixability = Literal["BOTH", "FIXABLE", "NOT_FIXABLE"]
Since = Literal["ALL_VULN", "SINCE_LAST_SENT", "START_DATE"]
SEVERITIES = ("CRITICAL", "IMPORTANT", "MODERATE", "LOW", "UNKNOWN")
_SUFFIX = "_VULNERABILITY_SEVERITY"
MAX_NAME = 256
MAX_SUBJECT = 256
MAX_BODY = 1500
MAX_RECIPIENTS = 50


@dataclass(frozen=True)
class EmailTarget:
    notifier_id: str
    recipients: tuple[str, ...]  # empty: the notifier's default recipient
    subject: str
    body: str


@dataclass(frozen=True)
class ReportConfig:
    name: str
    description: str
    collection_id: str
    schedule: Schedule | None
    severities: tuple[str, ...]  # Stockade's names (CRITICAL ...); empty: all
    fixability: Fixability
    since: Since
    start_date: dt.datetime | None
    include_nvd_cvss: bool
    include_epss: bool
    emails: tuple[EmailTarget, ...]


def _str(doc: Mapping[str, Any], key: str, path: str, *, limit: int, required: bool = False) -> str:
    value = doc.get(key)
    if value is None or value == "":
        if required:
            raise InvalidReport(path, "is required")
        return ""
    if not isinstance(value, str):
        raise InvalidReport(path, "must be a string")
    if len(value) > limit:
        raise InvalidReport(path, f"is longer than {limit} characters")
    if "\x00" in value:
        raise InvalidReport(path, "must not contain NUL characters")
    return value


def _bool(doc: Mapping[str, Any], key: str, path: str) -> bool:
    value = doc.get(key, False)
    if not isinstance(value, bool):
        raise InvalidReport(path, "must be true or false")
    return value


def _severity(value: Any, path: str) -> str:
    name = value.upper().removesuffix(_SUFFIX) if isinstance(value, str) else ""
    if name not in SEVERITIES:
        raise InvalidReport(path, f"{value!r} is not a severity ({', '.join(SEVERITIES)})")
    return name


def _since(filters: Mapping[str, Any]) -> tuple[Since, dt.datetime | None]:
    chosen = [
        k for k in ("allVuln", "sinceLastSentScheduledReport", "sinceStartDate") if filters.get(k)
    ]
    if len(chosen) > 1:
        raise InvalidReport("vulnReportFilters", f"give one of {', '.join(chosen)}, not several")
    if not chosen or chosen[0] == "allVuln":
        return "ALL_VULN", None
    if chosen[0] == "sinceLastSentScheduledReport":
        return "SINCE_LAST_SENT", None
    raw = filters["sinceStartDate"]
    try:
        when = dt.datetime.fromisoformat(str(raw))
    except ValueError as exc:
        raise InvalidReport("vulnReportFilters.sinceStartDate", f"{raw!r} is not a date") from exc
    return "START_DATE", when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def _email(doc: Any, path: str) -> EmailTarget:
    section = doc.get("emailConfig") if isinstance(doc, Mapping) else None
    if not isinstance(section, Mapping):
        raise InvalidReport(f"{path}.emailConfig", "is required: only email notifiers send reports")
    nid = _str(section, "notifierId", f"{path}.emailConfig.notifierId", limit=64, required=True)
    lists = section.get("mailingLists") or []
    if not isinstance(lists, list) or len(lists) > MAX_RECIPIENTS:
        raise InvalidReport(
            f"{path}.emailConfig.mailingLists",
            f"must be a list of at most {MAX_RECIPIENTS} addresses",
        )
    recipients = tuple(
        email_address(a if isinstance(a, str) else repr(a), f"{path}.emailConfig.mailingLists[{i}]")
        for i, a in enumerate(lists)
    )
    subject = _str(section, "customSubject", f"{path}.emailConfig.customSubject", limit=MAX_SUBJECT)
    if "\n" in subject or "\r" in subject:
        raise InvalidReport(f"{path}.emailConfig.customSubject", "must be one line")
    body = _str(section, "customBody", f"{path}.emailConfig.customBody", limit=MAX_BODY)
    return EmailTarget(nid, recipients, subject, body)


def parse_config(doc: Any) -> ReportConfig:
    if not isinstance(doc, Mapping):
        raise InvalidReport("body", "must be a report configuration object")
    if doc.get("type", "VULNERABILITY") != "VULNERABILITY":
        raise InvalidReport("type", "only VULNERABILITY reports are supported")
    name = _str(doc, "name", "name", limit=MAX_NAME, required=True)
    description = _str(doc, "description", "description", limit=4096)
    scope = doc.get("resourceScope")
    coll = scope.get("collectionScope") if isinstance(scope, Mapping) else None
    if not isinstance(coll, Mapping):
        raise InvalidReport("resourceScope.collectionScope.collectionId", "is required")
    collection_id = _str(
        coll, "collectionId", "resourceScope.collectionScope.collectionId", limit=64, required=True
    )
    filters = doc.get("vulnReportFilters") or {}
    if not isinstance(filters, Mapping):
        raise InvalidReport("vulnReportFilters", "must be an object")
    sev_doc = filters.get("severities") or []
    if not isinstance(sev_doc, list):
        raise InvalidReport("vulnReportFilters.severities", "must be a list")
    severities = tuple(
        sorted(
            {_severity(s, f"vulnReportFilters.severities[{i}]") for i, s in enumerate(sev_doc)},
            key=SEVERITIES.index,
        )
    )
    fixability = filters.get("fixability", "BOTH")
    if fixability not in ("BOTH", "FIXABLE", "NOT_FIXABLE"):
        raise InvalidReport(
            "vulnReportFilters.fixability", f"{fixability!r} is not BOTH, FIXABLE or NOT_FIXABLE"
        )
    since, start = _since(filters)
    notifiers = doc.get("notifiers") or []
    if not isinstance(notifiers, list):
        raise InvalidReport("notifiers", "must be a list")
    emails = tuple(_email(n, f"notifiers[{i}]") for i, n in enumerate(notifiers))
    schedule = parse_schedule(doc.get("schedule"))
    if schedule is not None and not emails:
        raise InvalidReport("notifiers", "a scheduled report needs at least one email notifier")
    return ReportConfig(
        name,
        description,
        collection_id,
        schedule,
        severities,
        fixability,
        since,
        start,
        _bool(filters, "includeNvdCvss", "vulnReportFilters.includeNvdCvss"),
        _bool(filters, "includeEpssProbability", "vulnReportFilters.includeEpssProbability"),
        emails,
    )


def config_json(cfg: ReportConfig) -> dict[str, Any]:
    """The stored (and returned) document: the product's field names, normalised."""
    filters: dict[str, Any] = {
        "fixability": cfg.fixability,
        "severities": [s + _SUFFIX for s in cfg.severities],
        "imageTypes": ["DEPLOYED"],
        "includeNvdCvss": cfg.include_nvd_cvss,
        "includeEpssProbability": cfg.include_epss,
    }
    if cfg.since == "ALL_VULN":
        filters["allVuln"] = True
    elif cfg.since == "SINCE_LAST_SENT":
        filters["sinceLastSentScheduledReport"] = True
    else:
        assert cfg.start_date is not None
        filters["sinceStartDate"] = cfg.start_date.isoformat().replace("+00:00", "Z")
    return {
        "name": cfg.name,
        "description": cfg.description,
        "type": "VULNERABILITY",
        "vulnReportFilters": filters,
        "schedule": cfg.schedule.to_json() if cfg.schedule else {"intervalType": "UNSET"},
        "resourceScope": {"collectionScope": {"collectionId": cfg.collection_id}},
        "notifiers": [
            {
                "emailConfig": {
                    "notifierId": e.notifier_id,
                    "mailingLists": list(e.recipients),
                    "customSubject": e.subject,
                    "customBody": e.body,
                }
            }
            for e in cfg.emails
        ],
    }

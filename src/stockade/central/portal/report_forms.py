"""The report configuration form <-> the product's v2 report configuration JSON.

The form shows one email notifier with its recipients, subject and body; further ones a
configuration got through the API are kept as they are. The schedule's time is one
``HH:MM`` (UTC) input. The API's error paths (``schedule.daysOfWeek.days``,
``notifiers[0].emailConfig.mailingLists[1]``) are mapped to the input they came from.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import FormData

from stockade.central.portal.common import form_str
from stockade.central.reports.configs import SEVERITIES

SUFFIX = "_VULNERABILITY_SEVERITY"
FIXABILITY = {
    "BOTH": "Fixable and not fixable",
    "FIXABLE": "Fixable only",
    "NOT_FIXABLE": "Not fixable only",
}
SINCE = {
    "ALL_VULN": "All findings",
    "SINCE_LAST_SENT": "Found since the last scheduled report was sent",
    "START_DATE": "Found since a date",
}
INTERVALS = {
    "UNSET": "Not scheduled (run on demand only)",
    "DAILY": "Daily",
    "WEEKLY": "Weekly",
    "MONTHLY": "Monthly",
}
WEEKDAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
_SINCE_KEYS = {"ALL_VULN": "allVuln", "SINCE_LAST_SENT": "sinceLastSentScheduledReport"}

# API error path prefix -> form input (first match wins; longer prefixes first)
_ERROR_INPUTS = (
    ("resourceScope", "collection"),
    ("vulnReportFilters.severities", "severities"),
    ("vulnReportFilters.fixability", "fixability"),
    ("vulnReportFilters.sinceStartDate", "since_date"),
    ("vulnReportFilters.include", "columns"),
    ("vulnReportFilters", "since"),
    ("schedule.intervalType", "interval"),
    ("schedule.hour", "time"),
    ("schedule.minute", "time"),
    ("schedule.daysOfWeek", "days_of_week"),
    ("schedule.daysOfMonth", "days_of_month"),
    ("schedule", "interval"),
    ("notifiers[0].emailConfig.notifierId", "notifier"),
    ("notifiers[0].emailConfig.mailingLists", "recipients"),
    ("notifiers[0].emailConfig.customSubject", "subject"),
    ("notifiers[0].emailConfig.customBody", "body"),
    ("notifiers[0].emailConfig", "notifier"),
    ("notifiers[0]", "notifier"),
    ("notifiers", "notifier"),
    ("name", "name"),
    ("description", "description"),
)


@dataclass
class ReportDraft:
    """What the form shows; ``document()`` is what the API is sent."""

    name: str = ""
    description: str = ""
    collection: str = ""
    severities: list[str] = field(default_factory=lambda: list(SEVERITIES[:3]))
    fixability: str = "BOTH"
    since: str = "ALL_VULN"
    since_date: str = ""
    nvd_cvss: bool = False
    epss: bool = False
    interval: str = "WEEKLY"
    time: str = "06:00"
    days_of_week: list[str] = field(default_factory=lambda: ["1"])
    days_of_month: str = "1"
    notifier: str = ""
    recipients: str = ""
    subject: str = ""
    body: str = ""
    more_notifiers: list[Any] = field(default_factory=list)  # kept from the stored config

    def document(self) -> tuple[dict[str, Any], dict[str, str]]:
        """(the configuration JSON, errors the form finds itself: time and day numbers)."""
        errors: dict[str, str] = {}
        filters: dict[str, Any] = {
            "severities": [s + SUFFIX for s in self.severities],
            "fixability": self.fixability,
            "includeNvdCvss": self.nvd_cvss,
            "includeEpssProbability": self.epss,
        }
        if self.since == "START_DATE":
            filters["sinceStartDate"] = self.since_date or None
            if not self.since_date:
                errors["since_date"] = "Give the date findings are reported from."
        else:
            filters[_SINCE_KEYS.get(self.since, "allVuln")] = True
        schedule: dict[str, Any] = {"intervalType": self.interval}
        if self.interval != "UNSET":
            hour, _, minute = self.time.partition(":")
            if not (hour.isdigit() and minute.isdigit()):
                errors["time"] = "Give the time as HH:MM (UTC)."
            else:
                schedule.update(hour=int(hour), minute=int(minute))
            if self.interval == "WEEKLY":
                schedule["daysOfWeek"] = {"days": [int(d) for d in self.days_of_week]}
            elif self.interval == "MONTHLY":
                days = [d.strip() for d in self.days_of_month.replace(",", " ").split()]
                if not all(d.isdigit() for d in days):
                    errors["days_of_month"] = "Give days of the month as numbers, like 1, 15."
                schedule["daysOfMonth"] = {"days": [int(d) for d in days if d.isdigit()]}
        notifiers = list(self.more_notifiers)
        if self.notifier:
            notifiers.insert(
                0,
                {
                    "emailConfig": {
                        "notifierId": self.notifier,
                        "mailingLists": _addresses(self.recipients),
                        "customSubject": self.subject,
                        "customBody": self.body,
                    }
                },
            )
        doc = {
            "name": self.name,
            "description": self.description,
            "type": "VULNERABILITY",
            "vulnReportFilters": filters,
            "schedule": schedule,
            "resourceScope": {"collectionScope": {"collectionId": self.collection}},
            "notifiers": notifiers,
        }
        return doc, errors


def _addresses(text: str) -> list[str]:
    return [a for a in text.replace(",", " ").split() if a]


def error_input(path: str) -> str:
    for prefix, name in _ERROR_INPUTS:
        if path.startswith(prefix):
            return name
    return "form"


def from_form(form: FormData, stored: Mapping[str, Any] | None) -> ReportDraft:
    def text(key: str) -> str:
        return form_str(form, key)

    def many(key: str) -> list[str]:
        return [v for v in form.getlist(key) if isinstance(v, str)]

    return ReportDraft(
        name=text("name"),
        description=text("description"),
        collection=text("collection"),
        severities=[s for s in SEVERITIES if s in many("severity")],
        fixability=text("fixability") or "BOTH",
        since=text("since") or "ALL_VULN",
        since_date=text("since_date"),
        nvd_cvss=text("nvd_cvss") == "true",
        epss=text("epss") == "true",
        interval=text("interval") or "UNSET",
        time=text("time"),
        days_of_week=[d for d in many("day_of_week") if d.isdigit()],
        days_of_month=text("days_of_month"),
        notifier=text("notifier"),
        recipients=text("recipients"),
        subject=text("subject"),
        body=text("body"),
        more_notifiers=list((stored or {}).get("notifiers", [])[1:]),
    )


def from_stored(doc: Mapping[str, Any]) -> ReportDraft:
    filters = doc.get("vulnReportFilters", {})
    schedule = doc.get("schedule", {})
    since = "ALL_VULN"
    if filters.get("sinceLastSentScheduledReport"):
        since = "SINCE_LAST_SENT"
    elif filters.get("sinceStartDate"):
        since = "START_DATE"
    notifiers = doc.get("notifiers", [])
    email = notifiers[0]["emailConfig"] if notifiers else {}
    return ReportDraft(
        name=doc.get("name", ""),
        description=doc.get("description", ""),
        collection=doc["resourceScope"]["collectionScope"]["collectionId"],
        severities=[s.removesuffix(SUFFIX) for s in filters.get("severities", [])],
        fixability=filters.get("fixability", "BOTH"),
        since=since,
        since_date=str(filters.get("sinceStartDate") or "")[:10],
        nvd_cvss=bool(filters.get("includeNvdCvss")),
        epss=bool(filters.get("includeEpssProbability")),
        interval=schedule.get("intervalType", "UNSET"),
        time=f"{schedule.get('hour', 6):02d}:{schedule.get('minute', 0):02d}",
        days_of_week=[str(d) for d in schedule.get("daysOfWeek", {}).get("days", [1])],
        days_of_month=", ".join(str(d) for d in schedule.get("daysOfMonth", {}).get("days", [1])),
        notifier=email.get("notifierId", ""),
        recipients="\n".join(email.get("mailingLists", [])),
        subject=email.get("customSubject", ""),
        body=email.get("customBody", ""),
        more_notifiers=list(notifiers[1:]),
    )


def schedule_text(doc: Mapping[str, Any]) -> str:
    """``Weekly on Monday at 06:30 UTC``; ``On demand`` when not scheduled."""
    s = doc.get("schedule") or {}
    kind = s.get("intervalType", "UNSET")
    if kind == "UNSET":
        return "On demand"
    at = f"at {s.get('hour', 0):02d}:{s.get('minute', 0):02d} UTC"
    if kind == "WEEKLY":
        days = ", ".join(WEEKDAYS[d] for d in s.get("daysOfWeek", {}).get("days", []))
        return f"Weekly on {days} {at}"
    if kind == "MONTHLY":
        days = ", ".join(str(d) for d in s.get("daysOfMonth", {}).get("days", []))
        return f"Monthly on day {days} {at}"
    return f"Daily {at}"

"""What each notifier sends, checked against golden files (regenerate with
STOCKADE_UPDATE_GOLDEN=1 and review the diff), plus the escaping rules of RFC 5424
structured data and CEF, and Splunk's size limit."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from stockade.central.notifiers import documents, mail, render, slack, splunk, syslog
from stockade.central.notifiers.base import Notification

from .conftest import alert

GOLDEN = Path(__file__).parent / "golden"
KEY = "6f1c2d3e-0000-4000-8000-000000000042"


def _golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("STOCKADE_UPDATE_GOLDEN"):
        path.write_text(text)
    assert text == path.read_text(), f"{name} differs from its golden file"


def _parsed(doc: dict[str, Any]) -> Any:
    return documents.parse(doc, "nid-1").config


def _alert() -> Any:
    a = alert(7)
    a["violations"].append({"message": 'Environment variable "A=B" holds a secret | maybe'})
    a["enforcement"] = {"action": "SCALE_TO_ZERO_ENFORCEMENT", "message": "scaled to zero"}
    return a


def test_slack_golden() -> None:
    cfg = _parsed(
        {
            "name": "s",
            "type": "slack",
            "uiEndpoint": "https://stockade.example.com",
            "labelDefault": "https://hooks.example/T/B/X",
        }
    )
    _golden("slack.json", json.dumps(slack.message(cfg.common, _alert()), indent=2) + "\n")


def test_splunk_golden_and_truncation() -> None:
    doc = {
        "name": "k",
        "type": "splunk",
        "splunk": {"httpEndpoint": "https://splunk.example/services/collector", "httpToken": "t"},
    }
    ev = splunk.event(_parsed(doc), Notification(_alert(), KEY))
    _golden("splunk.json", json.dumps(ev, indent=2) + "\n")

    big = _alert()
    big["violations"] = [{"message": f"violation {i} " + "x" * 100} for i in range(200)]
    small = _parsed({**doc, "splunk": {**doc["splunk"], "truncate": 3000}})
    ev = splunk.event(small, Notification(big, KEY))
    assert len(json.dumps(ev)) <= 3000
    kept = ev["event"]["violations"]
    assert kept[-1] == {"message": "(more violations truncated)"}
    assert kept[:-1] == big["violations"][: len(kept) - 1]


def test_email_golden() -> None:
    cfg = _parsed(
        {
            "name": "e",
            "type": "email",
            "uiEndpoint": "https://stockade.example.com",
            "labelDefault": "sec@example.com",
            "email": {
                "server": "smtp.example.com",
                "sender": "stockade@example.com",
                "from": "Stockade Central",
                "allowUnauthenticatedSmtp": True,
            },
        }
    )
    msg = mail.build_message(cfg, Notification(_alert(), KEY), "sec@example.com")
    _golden("email.txt", msg.as_string())


SYSLOG = {
    "name": "l",
    "type": "syslog",
    "syslog": {
        "localFacility": "LOCAL7",
        "tcpConfig": {"hostname": "logs.example.com", "port": 514},
        "extraFields": [{"key": "site", "value": "east"}],
    },
}


def _strip_header(frame: bytes) -> bytes:
    # the header's timestamp and host name change; PRI, version, app and MSGID do not
    return re.sub(rb"^(<\d+>1) \S+ \S+ ", rb"\1 TIMESTAMP HOST ", frame)


def test_syslog_rfc5424_golden() -> None:
    frame = syslog.rfc5424(_parsed(SYSLOG), Notification(_alert(), KEY))
    _golden("syslog-rfc5424.txt", _strip_header(frame).decode() + "\n")


def test_syslog_cef_golden() -> None:
    doc = {**SYSLOG, "syslog": {**SYSLOG["syslog"], "messageFormat": "CEF"}}
    frame = syslog.rfc5424(_parsed(doc), Notification(_alert(), KEY))
    text = _strip_header(frame).decode().replace(f"|{render.VERSION}|", "|VERSION|")
    _golden("syslog-cef.txt", text + "\n")


def _unescape_sd(value: str) -> str:
    return re.sub(r'\\([\\"\]])', r"\1", value)


@given(
    st.text(
        alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n\x00"),
        max_size=40,
    )
)
def test_sd_param_values_round_trip(text: str) -> None:
    cfg = _parsed(
        {
            **SYSLOG,
            "syslog": {**SYSLOG["syslog"], "extraFields": [{"key": "v", "value": text or "x"}]},
        }
    )
    sd = syslog.structured_data(cfg, Notification(alert(1), KEY))
    m = re.search(r' v="((?:[^"\\\]]|\\.)*)"', sd)
    assert m is not None, sd
    assert _unescape_sd(m.group(1)) == (text or "x")
    assert sd.endswith('"]')


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40))
@example("\\r")  # a backslash then an r: not a carriage return
@example("a=b\\n\r\nc")
def test_cef_extension_values_round_trip(text: str) -> None:
    a = alert(1)
    a["violations"] = [{"message": text}]
    line = syslog.cef(_parsed(SYSLOG), Notification(a, KEY))
    ext = line.split("|", 7)[7]
    # an unescaped '=' only ever separates a key from its value
    pairs = re.findall(r"(\w+)=((?:[^\\=]|\\.)*?)(?= \w+=|$)", ext)
    values = dict(pairs)
    if text.strip():
        # decoded left to right, as a CEF reader does ("\\r" is a backslash and an r)
        escapes = {"n": "\n", "r": "\r"}
        got = re.sub(r"\\(.)", lambda m: escapes.get(m.group(1), m.group(1)), values["msg"])
        assert got == text.replace("\r\n", "\n")


@pytest.mark.parametrize(
    ("severity", "pri"),
    [("CRITICAL_SEVERITY", 16 * 8 + 2), ("LOW_SEVERITY", 16 * 8 + 5), ("", 16 * 8 + 6)],
)
def test_syslog_priority(severity: str, pri: int) -> None:
    a = alert(1)
    a["policy"]["severity"] = severity
    cfg = _parsed({**SYSLOG, "syslog": {**SYSLOG["syslog"], "localFacility": "LOCAL0"}})
    assert syslog.rfc5424(cfg, Notification(a, KEY)).startswith(f"<{pri}>1 ".encode())

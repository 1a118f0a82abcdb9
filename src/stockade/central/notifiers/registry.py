"""Every notifier type, registered once; the key is the product's ``type`` string."""

from __future__ import annotations

from typing import Any

from stockade.central.notifiers.base import NotifierType
from stockade.central.notifiers.generic import GenericWebhook
from stockade.central.notifiers.mail import EmailNotifier
from stockade.central.notifiers.slack import SlackWebhook
from stockade.central.notifiers.splunk import SplunkHec
from stockade.central.notifiers.syslog import SyslogNotifier

_ALL: tuple[NotifierType[Any], ...] = (
    GenericWebhook(),
    SlackWebhook(),
    EmailNotifier(),
    SyslogNotifier(),
    SplunkHec(),
)
NOTIFIER_TYPES: dict[str, NotifierType[Any]] = {t.name: t for t in _ALL}

"""Central's notifiers: where alerts go (webhook, Slack, email, syslog, Splunk).

``registry.NOTIFIER_TYPES`` lists the types, each a module behind ``base.NotifierType``;
``store`` keeps notifiers with their secrets sealed; ``queue`` holds the durable delivery
queue and its worker. Other Central code calls ``central.notifications.enqueue(...)``.
"""

from stockade.central.notifiers.base import AlertPayload, DeliveryFailed, InvalidNotifier
from stockade.central.notifiers.queue import NotificationService, QueueSettings
from stockade.central.notifiers.store import NotifierStore

__all__ = [
    "AlertPayload",
    "DeliveryFailed",
    "InvalidNotifier",
    "NotificationService",
    "NotifierStore",
    "QueueSettings",
]

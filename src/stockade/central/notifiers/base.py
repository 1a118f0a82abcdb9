"""What every notifier type shares: the plugin protocol, the parsed configuration, the
notification handed to a plugin, and the errors.

NotifierError (CentralError)
├── InvalidNotifier (BadRequest, 400)   a field of a notifier being saved or tested is wrong;
│                                       the message names the field
└── DeliveryFailed                      the receiver did not acknowledge a notification;
                                        ``retryable`` says whether trying later may help
                                        (connection refused, timeout, 5xx, 429) or not (4xx,
                                        refused credentials, refused recipient)

A delivery error message names the notifier's host and what went wrong, never a URL path,
query, header value or credential: a Slack or webhook URL often carries its token in the
path.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypedDict, TypeVar

from stockade.central.errors import BadRequest, CentralError

MASK = "******"  # how the product shows a stored secret


class NotifierError(CentralError):
    status = 400
    code = 3


class InvalidNotifier(BadRequest, NotifierError):
    """A notifier's configuration is wrong; the message starts with the field's path."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field


class DeliveryFailed(NotifierError):
    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


# --- the alert a notification carries (the product's alert JSON, the parts notifiers read)


class PolicyPayload(TypedDict, total=False):
    id: str
    name: str
    severity: str
    categories: list[str]
    description: str
    rationale: str
    remediation: str


class DeploymentPayload(TypedDict, total=False):
    id: str
    name: str
    namespace: str
    clusterId: str
    clusterName: str
    labels: dict[str, str]
    annotations: dict[str, str]
    namespaceAnnotations: dict[str, str]


class ImageNamePayload(TypedDict, total=False):
    fullName: str
    registry: str
    remote: str
    tag: str


class ImagePayload(TypedDict, total=False):
    id: str
    name: ImageNamePayload


class ViolationPayload(TypedDict, total=False):
    message: str
    time: str


class EnforcementPayload(TypedDict, total=False):
    action: str
    message: str


class AlertPayload(TypedDict, total=False):
    id: str
    policy: PolicyPayload
    lifecycleStage: str
    state: str
    deployment: DeploymentPayload
    image: ImagePayload
    violations: list[ViolationPayload]
    enforcement: EnforcementPayload
    time: str
    firstOccurred: str


@dataclass(frozen=True)
class Notification:
    """One alert to send. ``idempotency_key`` is the same for every attempt at the same
    queued notification (and across Central restarts), so a receiver can drop a repeat."""

    alert: AlertPayload
    idempotency_key: str
    is_test: bool = False


@dataclass(frozen=True)
class Common:
    """The fields every notifier has, as the product names them."""

    id: str
    name: str
    type: str
    ui_endpoint: str
    label_key: str
    label_default: str


@dataclass(frozen=True)
class DeliveryOptions:
    timeout: float = 10.0
    allow_local_endpoints: bool = False


ConfigT = TypeVar("ConfigT")


class NotifierType(Protocol[ConfigT]):
    """A notifier type: parses and checks its section of the notifier JSON, and sends.

    ``secret_fields`` are the keys of its section that hold credentials: stored sealed,
    returned masked, never logged. ``dependent_fields`` are where those credentials go (an
    endpoint, a server, a user name): changing one requires giving the credentials again, so
    nobody can redirect stored credentials to a host of their choosing.
    """

    name: str
    section: str
    secret_fields: tuple[str, ...]
    dependent_fields: tuple[str, ...]

    def parse(self, common: Common, section: Mapping[str, Any]) -> ConfigT:
        """Check the configuration; raise InvalidNotifier naming the first wrong field."""
        ...

    async def send(self, config: ConfigT, note: Notification, options: DeliveryOptions) -> None:
        """Deliver; return only once the receiver acknowledged it, else raise
        DeliveryFailed."""
        ...

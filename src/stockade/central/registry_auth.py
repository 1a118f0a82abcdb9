"""How cloud registries want to be authenticated, where plain basic credentials are not it.

- ECR: AWS credentials (an access key, or the instance's IAM role through botocore's default
  chain) buy a registry token with ``GetAuthorizationToken`` (SigV4-signed by botocore); the
  token decodes to ``user:password`` basic credentials (``AWS:...``), valid until
  ``expiresAt``. :class:`EcrTokens` caches them until shortly before then.
- GCR / Artifact Registry: a service-account JSON key is used as the password of user
  ``_json_key``; :func:`check_service_account_key` checks its shape before it is stored.
- ACR: a service principal's id and secret are basic credentials already.

Errors are :class:`RegistryAuthError` with one sentence that never carries a secret.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from stockade.central.errors import BadRequest

logger = logging.getLogger(__name__)

GCR_KEY_USER = "_json_key"
_ECR_HOST = re.compile(r"^(\d{12})\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")


class RegistryAuthError(BadRequest):
    """A cloud registry's credentials could not be turned into registry credentials."""


def ecr_registry_from_host(host: str) -> tuple[str, str] | None:
    """(registry id, region) of an ECR registry host name, None for other hosts."""
    m = _ECR_HOST.match(host)
    return (m.group(1), m.group(2)) if m else None


def check_region(region: str) -> str:
    if not _REGION.match(region):
        raise BadRequest(f"ecr.region {region!r} is not an AWS region name (like us-east-1)")
    return region


def check_service_account_key(text: str) -> None:
    """A GCP service-account JSON key: an object with type service_account, client_email and
    private_key. The message names what is wrong, never the key's content."""
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise BadRequest("the service account key is not valid JSON") from exc
    if not isinstance(doc, dict):
        raise BadRequest("the service account key must be a JSON object")
    if doc.get("type") != "service_account":
        raise BadRequest('the service account key must have "type": "service_account"')
    for field in ("client_email", "private_key"):
        value = doc.get(field)
        if not isinstance(value, str) or not value.strip():
            raise BadRequest(f"the service account key has no {field}")
    if "PRIVATE KEY" not in doc["private_key"]:
        raise BadRequest("the service account key's private_key is not a PEM private key")


@dataclass(frozen=True)
class EcrAuth:
    """What buys an ECR token: a region and either an access key or the instance's role."""

    region: str
    access_key_id: str = ""
    secret_access_key: str = ""
    session_token: str = ""
    use_iam: bool = False
    registry_id: str = ""

    def cache_key(self) -> str:
        parts = (
            self.region,
            self.access_key_id,
            self.secret_access_key,
            self.session_token,
            str(self.use_iam),
            self.registry_id,
        )
        return hashlib.sha256("\0".join(parts).encode()).hexdigest()

    def scrub(self, text: str) -> str:
        """``text`` with this auth's secrets replaced (error text from the wire)."""
        for secret in (self.secret_access_key, self.session_token):
            if secret:
                text = text.replace(secret, "******")
        return text


@dataclass(frozen=True)
class _Token:
    username: str
    password: str
    expires_at: float


class EcrTokens:
    """ECR registry credentials per :class:`EcrAuth`, reused until ``margin_seconds`` before
    they expire. ``endpoint_url`` replaces the ECR API's address (a VPC endpoint; tests).
    The calls block: run them in a worker thread. Exchanges for one key run one at a time
    (concurrent scans share the new token); different keys never wait for each other, so an
    unreachable region holds up only its own integrations."""

    def __init__(
        self,
        endpoint_url: str | None = None,
        *,
        margin_seconds: float = 300.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.endpoint_url = endpoint_url
        self.margin = margin_seconds
        self.clock = clock
        self._tokens: dict[str, _Token] = {}
        self._key_locks: dict[str, threading.Lock] = {}
        # guards the two dicts and the botocore session; never held across a token exchange
        self._lock = threading.Lock()
        self._session: Any = None

    def credentials(self, auth: EcrAuth) -> tuple[str, str]:
        """Basic credentials for the registry: a cached token, or a new one."""
        key = auth.cache_key()
        with self._lock:
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:  # held across the exchange: one at a time per key
            with self._lock:
                token = self._tokens.get(key)
            if token is None or self.clock() >= token.expires_at - self.margin:
                try:
                    token = self._exchange(auth)
                except RegistryAuthError:
                    with self._lock:  # keys that never got a token (wrong secrets) don't pile up
                        if key not in self._tokens:
                            self._key_locks.pop(key, None)
                    raise
                with self._lock:
                    self._tokens[key] = token
            return token.username, token.password

    def _client(self, auth: EcrAuth) -> Any:
        import botocore.config  # noqa: PLC0415  (heavy; only when an ECR integration is used)
        import botocore.session  # noqa: PLC0415

        keys: dict[str, str | None] = {}
        if not auth.use_iam:  # otherwise botocore's default chain: env, files, instance role
            keys = {
                "aws_access_key_id": auth.access_key_id,
                "aws_secret_access_key": auth.secret_access_key,
                "aws_session_token": auth.session_token or None,
            }
        # a botocore session is not safe to create clients from concurrently; with useIam the
        # first client resolves the default chain here (the metadata lookup is bounded at ~1 s)
        with self._lock:
            if self._session is None:
                self._session = botocore.session.get_session()
            return self._session.create_client(
                "ecr",
                region_name=auth.region,
                endpoint_url=self.endpoint_url,
                config=botocore.config.Config(
                    connect_timeout=10, read_timeout=20, retries={"max_attempts": 2}
                ),
                **keys,
            )

    def _exchange(self, auth: EcrAuth) -> _Token:
        import botocore.exceptions  # noqa: PLC0415

        where = f"ECR GetAuthorizationToken in {auth.region}"
        try:
            client = self._client(auth)
            kwargs = {"registryIds": [auth.registry_id]} if auth.registry_id else {}
            response = client.get_authorization_token(**kwargs)
        except botocore.exceptions.ClientError as exc:
            error = exc.response.get("Error", {})
            code = str(error.get("Code") or "error")
            detail = auth.scrub(str(error.get("Message") or ""))[:200]
            message = f"{where} failed: {code}" + (f" ({detail})" if detail else "")
            raise RegistryAuthError(message) from exc
        except botocore.exceptions.NoCredentialsError as exc:
            raise RegistryAuthError(
                f"{where} failed: no AWS credentials found (instance role, environment or "
                "shared files)"
            ) from exc
        except botocore.exceptions.BotoCoreError as exc:
            raise RegistryAuthError(f"{where} failed: {auth.scrub(str(exc))[:200]}") from exc
        token = _decode(response, where)
        logger.info("ECR token obtained", extra={"region": auth.region})
        return token


def _decode(response: dict[str, Any], where: str) -> _Token:
    try:
        data = response["authorizationData"][0]
        user, _, password = base64.b64decode(data["authorizationToken"]).decode().partition(":")
        expires: dt.datetime = data["expiresAt"]
    except (KeyError, IndexError, TypeError, ValueError, binascii.Error) as exc:
        raise RegistryAuthError(f"{where} answered without a usable token") from exc
    if not user or not password:
        raise RegistryAuthError(f"{where} answered without a usable token")
    if expires.tzinfo is None:
        expires = expires.replace(tzinfo=dt.UTC)
    return _Token(user, password, expires.timestamp())

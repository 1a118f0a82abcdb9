"""A registry over the OCI distribution API v2 as an image source.

Authentication follows the registry's ``WWW-Authenticate`` challenge: none, ``Basic`` with the
configured credentials, or ``Bearer`` (a token fetched from the challenge's realm for a
``repository:<name>:pull`` scope, with the credentials if there are any). Manifests may be
Docker schema 2 or OCI, and lists / indexes are resolved to one platform. Every manifest is
checked against its digest here; blobs are checked by the caller while streaming
(``open_verified``). 429 and 5xx answers and connection failures are retried with
exponential backoff (honouring a short ``Retry-After``).

TLS is verified and plain HTTP refused unless the registry host is listed in
``RegistryOptions.insecure``; then HTTPS without verification is tried first and plain HTTP
after it.
"""

from __future__ import annotations

import base64
import logging
import math
import re
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import IO

import httpx

from stockade.core.redact import redact
from stockade.scanner.indexer.errors import (
    BlobDigestError,
    ImageNotFoundError,
    ImageSourceError,
    RegistryAuthError,
    RegistryUnavailableError,
)
from stockade.scanner.indexer.image import (
    DEFAULT_PLATFORM,
    DOCKER_LIST,
    DOCKER_MANIFEST,
    INDEX_TYPES,
    MAX_CONFIG_BYTES,
    MAX_MANIFEST_BYTES,
    OCI_INDEX,
    OCI_MANIFEST,
    Descriptor,
    Platform,
    ResolvedImage,
    check_digest,
    load_json,
    media_type_of,
    parse_descriptor,
    parse_manifest,
    select_platform,
    sha256_digest,
    verify_bytes,
)

logger = logging.getLogger(__name__)

MANIFEST_ACCEPT = ", ".join((OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST))
_REPO = re.compile(
    r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$"
)
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$")
_CHALLENGE_PARAM = re.compile(r'(\w+)="([^"]*)"')


@dataclass(frozen=True, slots=True)
class Reference:
    registry: str
    repository: str
    tag: str = ""
    digest: str = ""

    @property
    def ref(self) -> str:
        return self.digest or self.tag or "latest"

    def __str__(self) -> str:
        out = f"{self.registry}/{self.repository}"
        if self.tag:
            out += f":{self.tag}"
        if self.digest:
            out += f"@{self.digest}"
        return out


def parse_reference(text: str) -> Reference:
    """``host[:port]/repo[:tag][@sha256:...]``; the registry host is required."""
    rest, _, digest = text.partition("@")
    first, sep, remainder = rest.partition("/")
    if not sep or not ("." in first or ":" in first or first == "localhost"):
        raise ImageSourceError(
            f"Image reference {text!r} names no registry host; write it as "
            "host[:port]/repository[:tag]."
        )
    repo, tag = remainder, ""
    last_slash = remainder.rfind("/")
    colon = remainder.rfind(":")
    if colon > last_slash:
        repo, tag = remainder[:colon], remainder[colon + 1 :]
    if not _REPO.match(repo) or (tag and not _TAG.match(tag)):
        raise ImageSourceError(f"Image reference {text!r} is not valid.")
    if digest and not re.fullmatch(r"sha256:[0-9a-f]{64}", digest):
        raise ImageSourceError(f"Image reference {text!r} has an invalid digest.")
    return Reference(first, repo, tag if tag or digest else "latest", digest)


@dataclass(frozen=True)
class RegistryOptions:
    insecure: frozenset[str] = frozenset()  # hosts where plain HTTP / unverified TLS is allowed
    credentials: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    attempts: int = 4
    backoff: float = 0.5  # seconds, doubled per retry
    max_retry_after: float = 10.0
    timeout: float = 30.0


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


class _ResponseReader:
    """``read(n)`` over a streamed httpx response (raw bytes, no content decoding)."""

    def __init__(self, resp: httpx.Response, image: str, what: str) -> None:
        self._resp = resp
        self._it: Iterator[bytes] = resp.iter_raw(1 << 20)
        self._buf = b""
        self._image = image
        self._what = what

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        try:
            while n < 0 or len(self._buf) < n:
                chunk = next(self._it, b"")
                if not chunk:
                    break
                self._buf += chunk
        except httpx.HTTPError as exc:
            raise RegistryUnavailableError(
                f"Image {self._image}: the connection broke while reading {self._what}."
            ) from exc
        if n < 0:
            out, self._buf = self._buf, b""
        else:
            out, self._buf = self._buf[:n], self._buf[n:]
        return out

    def close(self) -> None:
        self._resp.close()


class RegistrySource:
    def __init__(
        self,
        reference: str,
        options: RegistryOptions | None = None,
        platform: Platform = DEFAULT_PLATFORM,
        *,
        deadline: float | None = None,
    ) -> None:
        self.ref = parse_reference(reference)
        # time.monotonic() after which no request is sent and no more bytes are read: a caller
        # with a time budget gets its thread back instead of leaving it on a slow registry
        self.deadline = deadline
        self.name = str(self.ref)
        self.options = options or RegistryOptions()
        self.platform = platform
        self._insecure = self.ref.registry in self.options.insecure
        self._client = httpx.Client(
            verify=not self._insecure, timeout=self.options.timeout, follow_redirects=True
        )
        self._base: str | None = None
        self._auth_header: str | None = None

    # -- transport -------------------------------------------------------------------------

    def _timeout(self, what: str) -> float:
        """The timeout of the next request or read, cut to what the deadline leaves."""
        if self.deadline is None:
            return self.options.timeout
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise RegistryUnavailableError(
                f"Image {self.name}: the time allowed for registry {self.ref.registry} ran out "
                f"while fetching {what}."
            )
        return min(self.options.timeout, left)

    def _pause(self, seconds: float) -> None:
        left = math.inf if self.deadline is None else self.deadline - time.monotonic()
        time.sleep(max(0.0, min(seconds, left)))

    def _base_url(self) -> str:
        if self._base is not None:
            return self._base
        schemes = ("https", "http") if self._insecure else ("https",)
        last: Exception | None = None
        for scheme in schemes:
            url = f"{scheme}://{self.ref.registry}"
            try:
                self._client.get(f"{url}/v2/", timeout=self._timeout("the API version"))
            except httpx.TransportError as exc:
                last = exc
                continue
            self._base = url
            return url
        hint = "" if self._insecure else " (allow plain HTTP for it with --insecure-registry)"
        raise RegistryUnavailableError(
            f"Image {self.name}: registry {self.ref.registry} cannot be reached{hint}."
        ) from last

    def _challenge(self, resp: httpx.Response, what: str) -> bool:
        """Answer a 401 challenge; False when there is nothing more to try."""
        header = resp.headers.get("www-authenticate", "")
        scheme, _, params_text = header.partition(" ")
        creds = self.options.credentials.get(self.ref.registry)
        if scheme.lower() == "basic":
            if creds is None or (self._auth_header or "").startswith("Basic"):
                return False
            self._auth_header = _basic(*creds)
            return True
        if scheme.lower() == "bearer":
            if (self._auth_header or "").startswith("Bearer"):
                return False
            params = dict(_CHALLENGE_PARAM.findall(params_text))
            realm = params.get("realm")
            if not realm:
                return False
            query = {"scope": f"repository:{self.ref.repository}:pull"}
            if "service" in params:
                query["service"] = params["service"]
            try:
                tok = self._client.get(
                    realm,
                    params=query,
                    auth=httpx.BasicAuth(*creds) if creds else None,
                    timeout=self._timeout("a token"),
                )
            except httpx.HTTPError as exc:
                raise RegistryUnavailableError(
                    f"Image {self.name}: the registry's token service cannot be reached."
                ) from exc
            if tok.status_code in (401, 403):
                return False
            if tok.status_code != 200:
                raise RegistryUnavailableError(
                    f"Image {self.name}: the registry's token service answered "
                    f"{tok.status_code} for {what}."
                )
            body = load_json(tok.content, self.name, "token response")
            token = body.get("token") or body.get("access_token")
            if not isinstance(token, str) or not token:
                return False
            self._auth_header = f"Bearer {token}"
            return True
        return False

    def _get(self, path: str, what: str, accept: str | None = None) -> httpx.Response:
        """GET with auth and retries; returns a streamed 200 response or raises."""
        url = self._base_url() + path
        challenged = False
        delay = self.options.backoff
        attempt = 0
        while True:
            attempt += 1
            headers = {}
            if accept:
                headers["Accept"] = accept
            if self._auth_header:
                headers["Authorization"] = self._auth_header
            try:
                request = self._client.build_request(
                    "GET", url, headers=headers, timeout=self._timeout(what)
                )
                resp = self._client.send(request, stream=True)
            except httpx.TransportError as exc:
                if attempt >= self.options.attempts:
                    raise RegistryUnavailableError(
                        f"Image {self.name}: registry {self.ref.registry} failed while "
                        f"fetching {what} ({type(exc).__name__})."
                    ) from exc
                self._pause(delay)
                delay *= 2
                continue
            status = resp.status_code
            if status == 200:
                return resp
            resp.read()
            resp.close()
            if status == 401 and not challenged:
                challenged = True
                if self._challenge(resp, what):
                    continue
            if status in (401, 403):
                raise RegistryAuthError(
                    f"Image {self.name}: the registry refused access to {what} ({status}); "
                    "check the credentials."
                )
            if status == 404:
                raise ImageNotFoundError(f"Image {self.name}: the registry has no {what} (404).")
            if status == 429 or status >= 500:
                if attempt >= self.options.attempts:
                    raise RegistryUnavailableError(
                        f"Image {self.name}: the registry answered {status} for {what} "
                        f"{attempt} times; giving up."
                    )
                wait = delay
                retry_after = resp.headers.get("retry-after", "")
                if retry_after.isdigit():
                    wait = min(float(retry_after), self.options.max_retry_after)
                logger.info("registry answered %s for %s; retrying in %.2fs", status, what, wait)
                self._pause(wait)
                delay *= 2
                continue
            raise ImageSourceError(
                f"Image {self.name}: the registry answered {status} for {what}: "
                f"{redact(resp.text[:200])!r}."
            )

    def _get_small(
        self, path: str, what: str, limit: int, accept: str | None = None
    ) -> tuple[bytes, httpx.Headers]:
        resp = self._get(path, what, accept)
        try:
            data = b""
            # chunks as they arrive (a chunk size would buffer up to it before the check)
            for chunk in resp.iter_raw():
                data += chunk
                self._timeout(what)  # a registry dripping bytes stops at the deadline
                if len(data) > limit:
                    raise ImageSourceError(f"Image {self.name}: the {what} is too large.")
        except httpx.HTTPError as exc:
            raise RegistryUnavailableError(
                f"Image {self.name}: the connection broke while reading {what}."
            ) from exc
        finally:
            resp.close()
        return data, resp.headers

    # -- ImageSource ---------------------------------------------------------------------

    def _manifest(self, ref: str, expect_digest: str = "") -> tuple[bytes, str, str]:
        data, headers = self._get_small(
            f"/v2/{self.ref.repository}/manifests/{ref}",
            f"manifest {ref}",
            MAX_MANIFEST_BYTES,
            MANIFEST_ACCEPT,
        )
        ctype = headers.get("content-type", "").split(";")[0].strip()
        digest = sha256_digest(data)
        # the registry's own claim must agree with the bytes, pinned by the user or not
        claimed = headers.get("docker-content-digest", "")
        if claimed.startswith("sha256:") and claimed != digest:
            raise BlobDigestError(
                f"Image {self.name}: the manifest does not match the digest the registry "
                f"announced ({claimed})."
            )
        if expect_digest and digest != expect_digest:
            raise BlobDigestError(
                f"Image {self.name}: the manifest {expect_digest} does not match its digest."
            )
        return data, ctype, digest

    def resolve(self) -> ResolvedImage:
        data, ctype, digest = self._manifest(self.ref.ref, self.ref.digest)
        for _ in range(4):
            doc = load_json(data, self.name, "manifest")
            if media_type_of(doc, ctype) not in INDEX_TYPES:
                config_desc, layers = parse_manifest(data, self.name)
                config, _ = self._get_small(
                    f"/v2/{self.ref.repository}/blobs/{config_desc.digest}",
                    f"config {config_desc.digest}",
                    MAX_CONFIG_BYTES,
                )
                verify_bytes(config, config_desc.digest, self.name, "config")
                return ResolvedImage(self.name, digest, config, layers)
            entries = doc.get("manifests")
            if not isinstance(entries, list):
                raise ImageSourceError(f"Image {self.name}: an image index lists no manifests.")
            chosen = select_platform(
                [parse_descriptor(e, self.name) for e in entries], self.platform, self.name
            )
            data, ctype, digest = self._manifest(chosen.digest, chosen.digest)
        raise ImageSourceError(f"Image {self.name}: image indexes are nested too deeply.")

    def fetch_manifest(self, ref: str, expect_digest: str = "") -> tuple[bytes, str, str]:
        """A manifest or index by tag or digest: (bytes, media type, digest), digest checked."""
        return self._manifest(ref, expect_digest)

    def fetch_small_blob(self, digest: str, limit: int, what: str) -> bytes:
        """A blob of at most ``limit`` bytes, checked against its digest."""
        check_digest(digest, self.name)
        data, _ = self._get_small(f"/v2/{self.ref.repository}/blobs/{digest}", what, limit)
        return verify_bytes(data, digest, self.name, what)

    def fetch_referrers(self, digest: str, limit: int) -> bytes | None:
        """The OCI 1.1 referrers index of a manifest; None when the registry has no such API."""
        check_digest(digest, self.name)
        try:
            data, _ = self._get_small(
                f"/v2/{self.ref.repository}/referrers/{digest}",
                f"referrers of {digest}",
                limit,
                OCI_INDEX,
            )
        except ImageNotFoundError:
            return None
        return data

    def open_blob(self, desc: Descriptor) -> IO[bytes]:
        what = f"layer {desc.digest}"
        resp = self._get(f"/v2/{self.ref.repository}/blobs/{desc.digest}", what)
        return _ResponseReader(resp, self.name, what)  # type: ignore[return-value]

    def close(self) -> None:
        self._client.close()

"""The one protocol every vulnerability source implements, and the fetching they share.

A source has a ``name``, a ``fetch`` that brings its upstream files to a local path (or says
"unchanged" for the fingerprint it was given) and a ``parse`` that streams normalized
``Vulnerability`` records out of that path. ``FeedUpdater`` is the common base: it knows how to
download a list of URLs with conditional requests (ETag / Last-Modified), verify published
checksums, unpack archives, and, in offline mode, read a file or directory instead.

Fingerprints are opaque strings to the store; here they are JSON holding each URL's
validators and a digest of the content, so a feed served again with equal bytes but new
validators is still "unchanged".
"""

from __future__ import annotations

import hashlib
import json
import logging
import tarfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Protocol, runtime_checkable

import httpx
import yaml

from stockade.core.redact import redact
from stockade.model.vulnerability import Vulnerability
from stockade.scanner.matcher.sources.errors import ChecksumError, FetchError, ParseError

logger = logging.getLogger(__name__)

CHECKSUM_FILE = "SHA256SUMS"
_CHUNK = 1 << 16


@dataclass(frozen=True, slots=True)
class Fetched:
    """New upstream content is at ``path`` (a file or a directory)."""

    path: Path
    fingerprint: str


@dataclass(frozen=True, slots=True)
class Unchanged:
    """Upstream content equals what the fingerprint describes; nothing to parse."""

    fingerprint: str


FetchResult = Fetched | Unchanged


@runtime_checkable
class Updater(Protocol):
    """A vulnerability source."""

    @property
    def name(self) -> str:
        """The source's name, unique in the registry and stored with its records."""
        ...

    def fetch(self, fingerprint: str, workdir: Path) -> FetchResult:
        """Bring the upstream files under ``workdir`` (or answer unchanged)."""
        ...

    def parse(self, path: Path) -> Iterator[Vulnerability]:
        """Stream records out of what ``fetch`` returned (a file or a directory)."""
        ...


@dataclass(frozen=True, slots=True)
class Download:
    """One upstream file: where it lives and where it goes under the work directory."""

    url: str
    filename: str
    sha256_url: str = ""  # a published "<hex digest>  name" file beside it, if any
    extract: bool = False  # a zip or tar archive, unpacked into a directory of its stem


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def tree_digest(path: Path) -> str:
    """A digest of a file, or of every file's relative name and content under a directory."""
    if path.is_file():
        return file_sha256(path)
    h = hashlib.sha256()
    for child in sorted(p for p in path.rglob("*") if p.is_file()):
        h.update(child.relative_to(path).as_posix().encode())
        h.update(b"\0")
        h.update(file_sha256(child).encode())
    return h.hexdigest()


def verify_checksums(source: str, root: Path) -> None:
    """Check every file a ``SHA256SUMS`` (sha256sum format) under ``root`` lists."""
    sums = root / CHECKSUM_FILE if root.is_dir() else root.with_name(root.name + ".sha256")
    if not sums.is_file():
        return
    base = sums.parent
    for lineno, line in enumerate(sums.read_text().splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split(maxsplit=1)
        if len(parts) != 2 and not root.is_file():
            raise ParseError(source, CHECKSUM_FILE, f"line {lineno}", "expected '<digest>  <file>'")
        want = parts[0].lower()
        name = parts[1].lstrip("*").strip() if len(parts) == 2 else root.name
        target = base / name
        if not target.is_file():
            raise ChecksumError(source, name, want, "missing file")
        got = file_sha256(target)
        if got != want:
            raise ChecksumError(source, name, want, got)


def safe_extract(source: str, archive: Path, dest: Path) -> None:
    """Unpack a zip or tar archive under ``dest``, refusing paths that leave it."""
    dest.mkdir(parents=True, exist_ok=True)
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as zf:
                for info in zf.infolist():
                    target = (dest / info.filename).resolve()
                    if not target.is_relative_to(dest.resolve()):
                        raise ParseError(source, archive.name, info.filename, "path leaves archive")
                zf.extractall(dest)  # noqa: S202 - every member checked above
        else:
            with tarfile.open(archive) as tf:
                tf.extractall(dest, filter="data")
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as exc:
        raise ParseError(source, archive.name, "", f"cannot unpack archive ({exc})") from exc


def is_archive(path: Path) -> bool:
    name = path.name.lower()
    return path.is_file() and (
        name.endswith((".zip", ".tar", ".tar.gz", ".tgz", ".tar.xz", ".tar.bz2"))
    )


@contextmanager
def record_context(source: str, file: str, record: str) -> Iterator[None]:
    """Turn a malformed-record exception into a ParseError naming the file and record."""
    try:
        yield
    except ParseError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        reason = (
            f"missing field {exc}" if isinstance(exc, KeyError) else str(exc) or type(exc).__name__
        )
        raise ParseError(source, file, record, reason) from exc


class FeedUpdater:
    """Base of every source: online downloads with validators, or an offline file/directory."""

    name: ClassVar[str] = ""
    #: the real upstream location (subclasses set it; ``base_url`` overrides it in tests)
    URL: ClassVar[str] = ""

    def __init__(
        self,
        *,
        offline: Path | None = None,
        base_url: str | None = None,
        client: httpx.Client | None = None,
        timeout: float = 120.0,
    ) -> None:
        self.offline = offline
        self.base_url = (base_url or self.URL).rstrip("/")
        self._client = client
        self._timeout = timeout

    # -- what to download (subclasses override) -------------------------------------------
    def downloads(self) -> list[Download]:
        return [Download(self.base_url, Path(self.base_url).name or "feed")]

    # -- parsing (subclasses override) -----------------------------------------------------
    def parse(self, path: Path) -> Iterator[Vulnerability]:
        raise NotImplementedError

    # -- fetching ---------------------------------------------------------------------------
    def fetch(self, fingerprint: str, workdir: Path) -> FetchResult:
        if self.offline is not None:
            return self._fetch_offline(fingerprint, workdir)
        return self._fetch_online(fingerprint, workdir)

    def _fetch_offline(self, fingerprint: str, workdir: Path) -> FetchResult:
        path = self.offline
        assert path is not None
        if not path.exists():
            raise FetchError(f"{self.name}: offline input {path} does not exist")
        verify_checksums(self.name, path)
        digest = tree_digest(path)
        new_fp = json.dumps({"sha256": digest})
        if old_digest(fingerprint) == digest:
            return Unchanged(new_fp)
        if is_archive(path):
            dest = workdir / "offline"
            safe_extract(self.name, path, dest)
            verify_checksums(self.name, dest)
            return Fetched(dest, new_fp)
        return Fetched(path, new_fp)

    def _fetch_online(self, fingerprint: str, workdir: Path) -> FetchResult:
        old = _load_fp(fingerprint)
        raw_validators = old.get("validators", {})
        old_validators: dict[str, dict[str, str]] = (
            raw_validators if isinstance(raw_validators, dict) else {}
        )
        items = self.downloads()
        workdir.mkdir(parents=True, exist_ok=True)
        client = self._client or httpx.Client(timeout=self._timeout, follow_redirects=True)
        try:
            validators: dict[str, dict[str, str]] = {}
            not_modified = []
            for item in items:
                got = self._get(client, item, workdir, old_validators.get(item.url, {}))
                if got is None:
                    not_modified.append(item)
                    validators[item.url] = old_validators.get(item.url, {})
                else:
                    validators[item.url] = got
            if len(not_modified) == len(items):
                logger.info("%s: upstream not modified", self.name)
                return Unchanged(fingerprint)
            for item in not_modified:  # partial change: fetch the rest unconditionally
                validators[item.url] = self._get(client, item, workdir, {}) or {}
            for item in items:
                if item.sha256_url:
                    self._check_published_digest(client, item, workdir)
        finally:
            if self._client is None:
                client.close()
        for item in items:
            if item.extract:
                archive = workdir / item.filename
                safe_extract(self.name, archive, workdir / _stem(item.filename))
                archive.unlink()
        verify_checksums(self.name, workdir)
        digest = tree_digest(workdir)
        new_fp = json.dumps({"sha256": digest, "validators": validators}, sort_keys=True)
        if old.get("sha256") == digest:
            return Unchanged(new_fp)
        return Fetched(workdir, new_fp)

    def _get(
        self, client: httpx.Client, item: Download, workdir: Path, validators: dict[str, str]
    ) -> dict[str, str] | None:
        headers: dict[str, str] = {}
        if etag := validators.get("etag"):
            headers["If-None-Match"] = etag
        if modified := validators.get("last_modified"):
            headers["If-Modified-Since"] = modified
        target = workdir / item.filename
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            with client.stream("GET", item.url, headers=headers) as resp:
                if resp.status_code == 304:
                    return None
                if resp.status_code != 200:
                    raise FetchError(
                        f"{self.name}: {redact(item.url)} answered HTTP {resp.status_code}"
                    )
                with target.open("wb") as fh:
                    for chunk in resp.iter_bytes():
                        fh.write(chunk)
                out: dict[str, str] = {}
                if etag := resp.headers.get("etag"):
                    out["etag"] = etag
                if modified := resp.headers.get("last-modified"):
                    out["last_modified"] = modified
                return out
        except httpx.HTTPError as exc:
            raise FetchError(f"{self.name}: cannot fetch {redact(item.url)} ({exc})") from exc

    def _check_published_digest(self, client: httpx.Client, item: Download, workdir: Path) -> None:
        try:
            resp = client.get(item.sha256_url)
        except httpx.HTTPError as exc:
            raise FetchError(f"{self.name}: cannot fetch {redact(item.sha256_url)}") from exc
        if resp.status_code != 200:
            raise FetchError(
                f"{self.name}: {redact(item.sha256_url)} answered HTTP {resp.status_code}"
            )
        want = resp.text.split()[0].lower() if resp.text.split() else ""
        got = file_sha256(workdir / item.filename)
        if want != got:
            raise ChecksumError(self.name, item.filename, want, got)


def _stem(filename: str) -> str:
    for ext in (".tar.gz", ".tar.xz", ".tar.bz2", ".tgz", ".tar", ".zip"):
        if filename.endswith(ext):
            return filename[: -len(ext)]
    return filename + ".d"


def _load_fp(fingerprint: str) -> dict[str, dict[str, dict[str, str]] | str]:
    if not fingerprint:
        return {}
    try:
        data = json.loads(fingerprint)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def old_digest(fingerprint: str) -> str:
    """The content digest a fingerprint records ("" for none or an unreadable one)."""
    value = _load_fp(fingerprint).get("sha256", "")
    return value if isinstance(value, str) else ""


def iter_files(path: Path, pattern: str) -> Iterator[Path]:
    """``path`` itself when it is a file, else every file under it matching ``pattern``."""
    if path.is_file():
        yield path
        return
    yield from sorted(path.rglob(pattern))


def rel(path: Path, root: Path) -> str:
    """A file's name relative to the parsed root, for messages."""
    try:
        return path.relative_to(root).as_posix() if root.is_dir() else path.name
    except ValueError:
        return path.name


def load_json(source: str, path: Path, root: Path) -> object:
    """Parse a JSON file; a syntax error (a truncated file, say) names the file and line."""
    try:
        with path.open("rb") as fh:
            return json.load(fh)
    except json.JSONDecodeError as exc:
        raise ParseError(
            source, rel(path, root), "", f"invalid JSON at line {exc.lineno} ({exc.msg})"
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ParseError(source, rel(path, root), "", f"unreadable ({exc})") from exc


def load_yaml(source: str, path: Path, root: Path) -> object:
    """Parse YAML with every scalar kept as a string (``1.10`` must not become 1.1)."""
    loader = getattr(yaml, "CBaseLoader", yaml.BaseLoader)
    try:
        with path.open("rb") as fh:
            return yaml.load(fh, Loader=loader)  # noqa: S506 - BaseLoader builds no objects
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ParseError(source, rel(path, root), "", f"invalid YAML{where}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ParseError(source, rel(path, root), "", f"unreadable ({exc})") from exc


def expect_dict(value: object, what: str) -> dict[str, object]:
    if not isinstance(value, dict):
        raise TypeError(f"{what} must be a mapping")
    return value


def expect_list(value: object, what: str) -> list[object]:
    if value is None or value == "":
        return []
    if not isinstance(value, list):
        raise TypeError(f"{what} must be a list")
    return value


def expect_str(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a string")
    return value

"""Fixtures for the Indexer suites: the real test image (built once, cached by script hash)
and a real registry on loopback."""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
SHARED = REPO / ".." / "shared"
BUILD_SCRIPT = SHARED / "tools" / "build-test-image.sh"
REGISTRY_SCRIPT = SHARED / "tools" / "local-registry.sh"
CLAIRCORE = SHARED / "claircore-testdata"


@dataclass(frozen=True)
class BuiltImage:
    root: Path

    @property
    def oci(self) -> Path:
        return self.root / "oci"

    @property
    def archive(self) -> Path:
        return self.root / "image.tar"


def _script_hash() -> str:
    return hashlib.sha256(BUILD_SCRIPT.read_bytes()).hexdigest()[:12]


@pytest.fixture(scope="session")
def test_image() -> BuiltImage:
    """The two-layer Debian bookworm image from build-test-image.sh (about a minute to build
    the first time; kept under .cache/ keyed by the script's hash)."""
    if not BUILD_SCRIPT.exists():
        pytest.skip("build-test-image.sh is not available")
    out = REPO / ".cache" / "indexer" / f"test-image-{_script_hash()}"
    if not (out / "image.tar").exists():
        if shutil.which("debootstrap") is None and os.geteuid() != 0:
            pytest.skip("debootstrap missing; run scripts/system-deps.sh")
        subprocess.run(["bash", str(BUILD_SCRIPT), str(out)], check=True, timeout=900)
    return BuiltImage(out)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Registry:
    address: str
    dir: Path

    def push(self, oci_ref: str, repo_tag: str) -> str:
        out = subprocess.run(
            ["bash", str(REGISTRY_SCRIPT), "push", str(self.dir), oci_ref, repo_tag],
            check=True,
            capture_output=True,
            text=True,
            timeout=300,
        )
        return out.stdout.strip().splitlines()[-1]


def _start_registry(tmp: Path, htpasswd: str | None = None) -> Iterator[Registry]:
    if shutil.which("docker-registry") is None or shutil.which("skopeo") is None:
        pytest.skip("docker-registry/skopeo missing; run scripts/system-deps.sh")
    if htpasswd is not None:
        (tmp / "htpasswd").write_text(htpasswd)
    port = free_port()
    out = subprocess.run(
        ["bash", str(REGISTRY_SCRIPT), "start", str(tmp), str(port)],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    try:
        yield Registry(out.stdout.strip().splitlines()[-1], tmp)
    finally:
        subprocess.run(["bash", str(REGISTRY_SCRIPT), "stop", str(tmp)], check=False, timeout=30)


@pytest.fixture(scope="session")
def registry(
    tmp_path_factory: pytest.TempPathFactory, test_image: BuiltImage
) -> Iterator[Registry]:
    """A real registry (anonymous) with the test image pushed as stockade/test:latest."""
    gen = _start_registry(tmp_path_factory.mktemp("registry"))
    reg = next(gen)
    reg.push(f"{test_image.oci}:test", "stockade/test:latest")
    yield reg
    next(gen, None)


@pytest.fixture(scope="session")
def auth_registry(
    tmp_path_factory: pytest.TempPathFactory, test_image: BuiltImage
) -> Iterator[Registry]:
    """A real registry with htpasswd basic auth (user alice, password wonderland)."""
    if shutil.which("htpasswd") is None:
        pytest.skip("htpasswd missing; run scripts/system-deps.sh")
    line = subprocess.run(
        ["htpasswd", "-nbB", "alice", "wonderland"], check=True, capture_output=True, text=True
    ).stdout.strip()
    gen = _start_registry(tmp_path_factory.mktemp("auth-registry"), line + "\n")
    reg = next(gen)
    subprocess.run(
        [
            "skopeo",
            "copy",
            "-q",
            "--dest-tls-verify=false",
            "--dest-creds",
            "alice:wonderland",
            f"oci:{test_image.oci}:test",
            f"docker://{reg.address}/private/test:latest",
        ],
        check=True,
        timeout=300,
    )
    yield reg
    next(gen, None)

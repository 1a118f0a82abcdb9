"""Reference implementations of every version scheme, each run as ONE long-lived process.

Each fixture starts the ecosystem's own implementation (dpkg, python3-rpm, node-semver,
Ruby's Gem::Version, Maven's ComparableVersion, Go's x/mod/semver) reading tab-separated
requests from stdin and answering one line per request, so thousands of hypothesis-made
cases cost one process start. The sources of those small harnesses are in ``peers/``;
build outputs and the npm install go to ``test-artifacts/version-peers`` (git-ignored).

A missing tool skips its tests locally; CI installs the Debian packages listed in
scripts/system-packages.txt, so nothing is skipped there. How many cases each reference
checked is written to ``test-artifacts/version-peers/counts.json`` at the end of the run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
PEERS = HERE / "peers"
REPO = HERE.parents[3]
CACHE = REPO / "test-artifacts" / "version-peers"
NODE_SEMVER_VERSION = "7.6.3"
MAVEN_CLASSPATH = ["/usr/share/java/maven-artifact-3.x.jar", "/usr/share/java/commons-lang3.jar"]
GO_MOD_GOPATH = Path("/usr/share/gocode")
_BATCH = 200

COUNTS: dict[str, int] = {}
_COUNTS_LOCK = threading.Lock()


class Reference:
    """A running reference process: send request lines, read one answer line each."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> None:
        self.name = name
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            encoding="utf-8",
            bufsize=1,
            env=env,
        )

    def ask(self, requests: list[str]) -> list[str]:
        """Answers to ``requests`` (each a tab-separated line without newline), in order."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        answers: list[str] = []
        for start in range(0, len(requests), _BATCH):
            chunk = requests[start : start + _BATCH]
            for request in chunk:
                assert "\n" not in request
            self.proc.stdin.write("".join(r + "\n" for r in chunk))
            self.proc.stdin.flush()
            for _ in chunk:
                line = self.proc.stdout.readline()
                if not line:
                    raise RuntimeError(f"reference {self.name} exited early")
                answers.append(line.rstrip("\n"))
        with _COUNTS_LOCK:
            COUNTS[self.name] = COUNTS.get(self.name, 0) + len(requests)
        return answers

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.skip(f"{tool} is not installed (scripts/system-packages.txt)")
    return path


def _started(name: str, argv: list[str], env: dict[str, str] | None = None) -> Iterator[Reference]:
    ref = Reference(name, argv, env)
    try:
        yield ref
    finally:
        ref.close()


@pytest.fixture(scope="session", autouse=True)
def _write_counts() -> Iterator[None]:
    yield
    if COUNTS:
        CACHE.mkdir(parents=True, exist_ok=True)
        (CACHE / "counts.json").write_text(json.dumps(COUNTS, indent=2, sort_keys=True) + "\n")


@pytest.fixture(scope="session")
def dpkg_ref() -> Iterator[Reference]:
    _need("dpkg")
    yield from _started("dpkg", ["bash", str(PEERS / "dpkg_compare.sh")])


@pytest.fixture(scope="session")
def dpkg_perl_ref() -> Iterator[Reference]:
    perl = _need("perl")
    probe = subprocess.run([perl, "-MDpkg::Version", "-e", "1"], capture_output=True, check=False)
    if probe.returncode != 0:
        pytest.skip("libdpkg-perl is not installed (scripts/system-packages.txt)")
    yield from _started("dpkg-perl", [perl, str(PEERS / "dpkg_version.pl")])


@pytest.fixture(scope="session")
def rpm_ref() -> Iterator[Reference]:
    probe = subprocess.run(
        ["/usr/bin/python3", "-c", "import rpm"], capture_output=True, check=False
    )
    if probe.returncode != 0:
        pytest.skip("python3-rpm is not installed (scripts/system-packages.txt)")
    yield from _started("rpm", ["/usr/bin/python3", str(PEERS / "rpm_compare.py")])


@pytest.fixture(scope="session")
def node_semver_ref() -> Iterator[Reference]:
    node = _need("node")
    npm = _need("npm")
    prefix = CACHE / f"npm-semver-{NODE_SEMVER_VERSION}"
    modules = prefix / "node_modules"
    if not (modules / "semver" / "package.json").exists():
        prefix.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(
            [
                npm,
                "install",
                "--prefix",
                str(prefix),
                "--no-audit",
                "--no-fund",
                "--no-save",
                "--silent",
                f"semver@{NODE_SEMVER_VERSION}",
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=110,
        )
        if result.returncode != 0:
            pytest.skip(
                f"npm could not install semver@{NODE_SEMVER_VERSION}: {result.stderr[-300:]}"
            )
    installed = json.loads((modules / "semver" / "package.json").read_text())["version"]
    assert installed == NODE_SEMVER_VERSION
    yield from _started("node-semver", [node, str(PEERS / "semver_compare.js"), str(modules)])


@pytest.fixture(scope="session")
def gem_ref() -> Iterator[Reference]:
    ruby = _need("ruby")
    yield from _started("rubygems", [ruby, str(PEERS / "gem_compare.rb")])


@pytest.fixture(scope="session")
def maven_ref() -> Iterator[Reference]:
    java = _need("java")
    javac = _need("javac")
    for jar in MAVEN_CLASSPATH:
        if not Path(jar).exists():
            pytest.skip(f"{jar} is missing (libmaven3-core-java)")
    classes = CACHE / "maven-classes"
    source = PEERS / "MavenCompare.java"
    built = classes / "MavenCompare.class"
    classpath = ":".join(MAVEN_CLASSPATH)
    if not built.exists() or built.stat().st_mtime < source.stat().st_mtime:
        classes.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [javac, "-cp", classpath, "-d", str(classes), str(source)], check=True, timeout=110
        )
    yield from _started(
        "maven-comparableversion",
        [
            java,
            "-Xshare:auto",
            "-XX:TieredStopAtLevel=1",
            "-cp",
            f"{classes}:{classpath}",
            "MavenCompare",
        ],
    )


@pytest.fixture(scope="session")
def go_ref() -> Iterator[Reference]:
    go = _need("go")
    if not (GO_MOD_GOPATH / "src" / "golang.org" / "x" / "mod" / "semver").is_dir():
        pytest.skip("golang-golang-x-mod-dev is not installed (scripts/system-packages.txt)")
    binary = CACHE / "gosemver"
    source = PEERS / "gosemver" / "main.go"
    if not binary.exists() or binary.stat().st_mtime < source.stat().st_mtime:
        CACHE.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "GO111MODULE": "off",
            "GOPATH": str(GO_MOD_GOPATH),
            "GOCACHE": str(CACHE / "gocache"),
            "GOFLAGS": "",
            "CGO_ENABLED": "0",
        }
        subprocess.run(
            [go, "build", "-o", str(binary), str(source)], check=True, env=env, timeout=110
        )
    yield from _started("go-x-mod-semver", [str(binary)])


@pytest.fixture(scope="session")
def php_ref() -> Iterator[Reference]:
    php = _need("php")
    yield from _started("php-version_compare", [php, str(PEERS / "php_compare.php")])

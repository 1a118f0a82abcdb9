#!/usr/bin/env python3
"""The two commands the README gives, for developers and CI alike.

    python3 tasks.py run    install into .venv, start Central on the embedded database
    python3 tasks.py test   install dev tools into .venv; lint, type-check, run every test

Only the standard library is used here: this file is what makes a fresh machine usable.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / "bin"
STAMP = VENV / ".stockade-install-stamp"


def _run(*cmd: str, env: dict[str, str] | None = None) -> None:
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, cwd=ROOT, check=True, env=env)


def _inputs_digest(extra: str) -> str:
    h = hashlib.sha256(extra.encode())
    h.update((ROOT / "pyproject.toml").read_bytes())
    return h.hexdigest()


def ensure_venv(extras: str = "") -> None:
    """Create .venv and install the project (editable) when pyproject changed since last time."""
    if not (BIN / "python").exists():
        venv.EnvBuilder(with_pip=True, clear=False).create(VENV)
        _run(str(BIN / "python"), "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    want = _inputs_digest(extras)
    if STAMP.exists() and STAMP.read_text() == want:
        return
    target = f".[{extras}]" if extras else "."
    _run(str(BIN / "python"), "-m", "pip", "install", "--quiet", "-e", target)
    STAMP.write_text(want)


def ensure_system_packages() -> None:
    """Debian packages some test suites drive (each suite skips cleanly without them locally,
    but CI installs them so nothing is skipped)."""
    script = ROOT / "scripts" / "system-deps.sh"
    if script.exists() and os.geteuid() == 0:
        _run("bash", str(script))


def cmd_run(args: list[str]) -> int:
    ensure_venv()
    data_dir = os.environ.get("STOCKADE_DATA_DIR", str(ROOT / ".stockade-data"))
    cmd = [str(BIN / "stockade"), "central", "--data-dir", data_dir, *args]
    print("+", " ".join(cmd), flush=True)
    os.execv(cmd[0], cmd)
    return 0  # not reached


def cmd_test(args: list[str]) -> int:
    ensure_venv("dev")
    ensure_system_packages()
    _run("bash", str(ROOT / "scripts" / "test-assets.sh"))
    steps: list[list[str]] = [
        [str(BIN / "ruff"), "check", "src", "tests", "bench", "tasks.py"],
        [str(BIN / "ruff"), "format", "--check", "src", "tests", "bench", "tasks.py"],
        [str(BIN / "mypy")],
        [str(BIN / "lint-imports")],
        [str(BIN / "pytest"), *args],
    ]
    for step in steps:
        print("+", " ".join(step), flush=True)
        rc = subprocess.run(step, cwd=ROOT, check=False).returncode
        if rc != 0:
            print(f"FAILED: {' '.join(step)} (exit {rc})", flush=True)
            return rc
    return 0


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in {"run", "test"}:
        print(__doc__)
        return 2
    handler = cmd_run if sys.argv[1] == "run" else cmd_test
    try:
        return handler(sys.argv[2:])
    except subprocess.CalledProcessError as exc:
        print(f"FAILED: {' '.join(map(str, exc.cmd))} (exit {exc.returncode})")
        return exc.returncode or 1


if __name__ == "__main__":
    sys.exit(main())

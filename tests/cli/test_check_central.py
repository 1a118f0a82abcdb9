"""`stockade deployment check` / `image check` against a running Central give the same
answers as the offline mode (Central evaluates the same default policies)."""

from __future__ import annotations

import base64
import json
import os
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

GOLDEN = Path(__file__).parent / "golden"

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def central_endpoint(
    make_database: Callable[[], str], tmp_path: Path
) -> Iterator[tuple[str, Path, Path]]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("STOCKADE_")}
    data = tmp_path / "central"
    proc = subprocess.Popen(
        [sys.executable, "-m", "stockade.cli.main", "central", "--data-dir", str(data),
         "--db-url", make_database(), "--port", str(port), "--log-level", "warning"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        ca = data / "ca.pem"
        base = f"https://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while True:
            assert time.monotonic() < deadline, "Central did not start"
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            if ca.exists():
                try:
                    httpx.get(f"{base}/v1/ping", verify=ssl.create_default_context(cafile=str(ca)))
                    break
                except httpx.TransportError:
                    pass
            time.sleep(0.3)
        password = (data / "admin-password").read_text().strip()
        auth = {"Authorization": "Basic " + base64.b64encode(f"admin:{password}".encode()).decode()}
        r = httpx.post(
            f"{base}/v1/apitokens/generate",
            verify=ssl.create_default_context(cafile=str(ca)),
            headers=auth,
            json={"name": "ci", "role": "Continuous Integration"},
        )
        assert r.status_code == 200, r.text
        token = tmp_path / "token"
        token.write_text(r.json()["token"])
        r = httpx.post(
            f"{base}/v1/apitokens/generate",
            verify=ssl.create_default_context(cafile=str(ca)),
            headers=auth,
            json={"name": "admin", "role": "Admin"},
        )
        (tmp_path / "admin-token").write_text(r.json()["token"])
        yield f"127.0.0.1:{port}", token, ca
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STOCKADE_")}
    return subprocess.run(
        [sys.executable, "-m", "stockade.cli.main", *args],
        capture_output=True, text=True, timeout=120, check=False, env=env,
    )  # fmt: skip


def _summary(out: str) -> dict[str, set[str]]:
    doc = json.loads(out)
    return {r["name"]: {v["policy"]["name"] for v in r["violations"]} for r in doc["results"]}


def test_central_and_local_agree(central_endpoint: tuple[str, Path, Path]) -> None:
    endpoint, token, ca = central_endpoint
    remote = ["-e", endpoint, "--token-file", str(token), "--ca", str(ca), "-o", "json"]
    manifests = str(GOLDEN / "manifests.yaml")
    central = _cli("deployment", "check", "-f", manifests, *remote)
    local = _cli("deployment", "check", "--local", "-f", manifests, "-o", "json")
    assert central.returncode == local.returncode == 0, central.stderr
    assert _summary(central.stdout) == _summary(local.stdout)

    image = str(GOLDEN / "image.json")
    central = _cli("image", "check", "--image-json", image, *remote)
    local = _cli("image", "check", "--local", "--image-json", image, "-o", "json")
    assert central.returncode == local.returncode == 1, central.stderr  # log4j fails the build
    assert _summary(central.stdout) == _summary(local.stdout)


def test_unreachable_central_is_exit_3(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("x")
    proc = _cli(
        "deployment",
        "check",
        "-f",
        str(GOLDEN / "manifests.yaml"),
        "-e",
        f"127.0.0.1:{_free_port()}",
        "--token-file",
        str(token),
    )
    assert proc.returncode == 3
    assert "cannot reach Central" in proc.stderr and "Traceback" not in proc.stderr


def test_policy_import_and_export_against_central(
    central_endpoint: tuple[str, Path, Path], tmp_path: Path
) -> None:
    endpoint, ci_token, ca = central_endpoint
    admin = ["-e", endpoint, "--token-file", str(tmp_path / "admin-token"), "--ca", str(ca)]
    custom = tmp_path / "custom.json"
    custom.write_text(
        json.dumps(
            {
                "name": "No busybox images",
                "severity": "LOW_SEVERITY",
                "lifecycleStages": ["BUILD"],
                "categories": ["Custom"],
                "policySections": [
                    {
                        "policyGroups": [
                            {"fieldName": "Image Remote", "values": [{"value": ".*busybox.*"}]}
                        ]
                    }
                ],
            }
        )
    )
    clash = tmp_path / "clash.json"
    clash.write_text(
        json.dumps(
            {
                "name": "Latest tag",
                "severity": "LOW_SEVERITY",
                "lifecycleStages": ["BUILD"],
                "policySections": [
                    {"policyGroups": [{"fieldName": "Image Tag", "values": [{"value": "latest"}]}]}
                ],
            }
        )
    )
    out = _cli("policy", "import", str(custom), str(clash), *admin)
    assert out.returncode == 3  # one of two failed: the name exists in Central already
    assert "imported No busybox images" in out.stdout
    assert "failed Latest tag" in out.stderr and "already exists" in out.stderr
    out = _cli("policy", "import", "--overwrite", str(clash), *admin)
    assert out.returncode == 0, out.stderr
    out = _cli("policy", "export", "--name", "No busybox images", *admin)
    assert out.returncode == 0, out.stderr
    assert [p["name"] for p in json.loads(out.stdout)["policies"]] == ["No busybox images"]
    ci = _cli("policy", "export", "-e", endpoint, "--token-file", str(ci_token), "--ca", str(ca))
    assert ci.returncode == 3 and "403" in ci.stderr

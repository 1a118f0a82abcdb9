"""`stockade image scan` against a running Central shows the image's signature verification:
a table line per signature integration (verified by it, or why not) and the results object in
JSON. The image is cosign-signed in a real registry with test_signatures_e2e.py's helpers."""

from __future__ import annotations

import importlib.util
import json
import ssl
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

pytestmark = [pytest.mark.integration, pytest.mark.slow]
TESTS = Path(__file__).resolve().parents[1]


def _load(name: str, path: Path) -> Any:
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


e2e = _load("signatures_e2e", TESTS / "central" / "test_signatures_e2e.py")
check_central = _load("check_central", TESTS / "cli" / "test_check_central.py")
registry = e2e.registry
test_image = e2e.test_image
central_endpoint = check_central.central_endpoint


def test_image_scan_shows_signature_verification(
    central_endpoint: tuple[str, Path, Path], registry: Any, test_image: Any, tmp_path: Path
) -> None:
    endpoint, token, ca = central_endpoint
    admin = httpx.Client(
        base_url=f"https://{endpoint}",
        verify=ssl.create_default_context(cafile=str(ca)),
        headers={"Authorization": f"Bearer {(tmp_path / 'admin-token').read_text()}"},
        timeout=60,
    )
    repo = "sigcli/app"
    registry.push(f"{test_image.oci}:test", f"{repo}:latest")
    name = f"{registry.address}/{repo}"
    integ = {"name": "local", "type": "docker", "docker": {"endpoint": registry.address, "insecure": True}}  # fmt: skip
    assert admin.post("/v1/imageintegrations", json=integ).status_code == 200
    regy = e2e.Registry(registry.address)
    trusted, stranger = (ec.generate_private_key(ec.SECP256R1()) for _ in range(2))
    digest = e2e.digest_of(regy.raw_manifest(repo, "latest"))
    body = e2e.payload(name, digest)
    regy.sign_by_tag(repo, digest, [(body, e2e.sign(trusted, body))])

    def scan(*args: str) -> str:
        remote = ["-e", endpoint, "--token-file", str(token), "--ca", str(ca)]
        out = check_central._cli("image", "scan", "-i", f"{name}:latest", *args, *remote)
        assert out.returncode == 0, out.stderr
        return out.stdout

    # no signature integration yet: nothing is said about signatures
    assert "Signature:" not in scan()

    ids = {}
    for label, key in (("release", trusted), ("other", stranger)):
        doc = {
            "name": label,
            "cosign": {"publicKeys": [{"name": "ci", "publicKeyPemEnc": e2e.public_pem(key)}]},
        }
        r = admin.post("/v1/signatureintegrations", json=doc)
        assert r.status_code == 200, r.text
        ids[label] = r.json()["id"]

    lines = scan("--force").splitlines()
    assert "Signature: verified by release" in lines
    (other,) = [ln for ln in lines if ln.startswith("Signature: not verified by other (")]
    assert "made with none of the keys" in other and other.endswith(")")
    assert lines[0].startswith(f"Image {name}:latest ({digest})")

    doc = json.loads(scan("-o", "json"))
    results = {r["verifierId"]: r for r in doc["signatureVerificationData"]["results"]}
    assert set(results) == set(ids.values())
    assert results[ids["release"]]["status"] == "VERIFIED"
    assert results[ids["release"]]["verifierName"] == "release"
    assert results[ids["other"]]["status"] == "FAILED_VERIFICATION"
    assert doc["findings"] is not None and doc["image"]["id"] == digest

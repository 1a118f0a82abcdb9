"""POST /v1/signatureintegrations/test on real parts: the test image in a real registry, cosign
signatures pushed beside it (the signing helpers of test_signatures_e2e.py), settings that
were never saved checked against one image, the image integration's credentials used as at
scan time, and nothing stored."""

from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _load_e2e() -> Any:
    """test_signatures_e2e.py as a module: its registry writer and cosign signing helpers."""
    name = "signatures_e2e"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            name, Path(__file__).with_name("test_signatures_e2e.py")
        )
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


e2e = _load_e2e()
test_image = e2e.test_image
registry = e2e.registry
auth_registry = e2e.auth_registry
ROUTE = "/v1/signatureintegrations/test"


def settings(name: str, key: ec.EllipticCurvePrivateKey, key_name: str = "ci") -> dict[str, Any]:
    return {
        "name": name,
        "cosign": {"publicKeys": [{"name": key_name, "publicKeyPemEnc": e2e.public_pem(key)}]},
    }


def stored(db_url: str, table: str) -> int:
    with psycopg.connect(db_url) as conn:
        row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
    assert row is not None
    return int(row[0])


async def test_verified_with_the_right_key_and_the_reason_with_another(
    central, registry, test_image
) -> None:
    repo = "sigtest/app"
    regy = await e2e.setup(central, registry, test_image, repo)
    name = f"{registry.address}/{repo}"
    trusted = ec.generate_private_key(ec.SECP256R1())
    digest = e2e.digest_of(regy.raw_manifest(repo, "latest"))
    body = e2e.payload(name, digest)
    regy.sign_by_tag(repo, digest, [(body, e2e.sign(trusted, body))])

    r = await central.admin(
        "POST",
        ROUTE,
        json={"signatureIntegration": settings("release", trusted), "imageName": f"{name}:latest"},
    )
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["status"] == "VERIFIED", got
    assert got["verifierName"] == "release" and got["verifierId"] == ""
    assert got["description"] == f"{digest} verified with public key 'ci'"
    assert got["verifiedImageReferences"] == [f"{name}:latest"]
    assert digest in got["digests"]

    stranger = ec.generate_private_key(ec.SECP256R1())
    r = await central.admin(
        "POST",
        ROUTE,
        json={"signatureIntegration": settings("other", stranger), "imageName": f"{name}:latest"},
    )
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["status"] == "FAILED_VERIFICATION"
    assert "made with none of the keys" in got["description"], got
    assert got["verifiedImageReferences"] == []

    # an unsigned image: not verified, with its reason
    regy.variant(repo, "unsigned")
    r = await central.admin(
        "POST",
        ROUTE,
        json={
            "signatureIntegration": settings("release", trusted),
            "imageName": f"{name}:unsigned",
        },
    )
    assert r.json()["status"] == "FAILED_VERIFICATION"
    assert "no cosign signature was found" in r.json()["description"]

    # a stored integration being edited: its id is reported back
    created = (
        await central.admin("POST", "/v1/signatureintegrations", json=settings("kept", stranger))
    ).json()
    edited = {**settings("kept", trusted), "id": created["id"]}
    r = await central.admin(
        "POST", ROUTE, json={"signatureIntegration": edited, "imageName": f"{name}:latest"}
    )
    assert r.json()["status"] == "VERIFIED" and r.json()["verifierId"] == created["id"]

    # testing stored nothing: no image, and the saved integration keeps its old key
    assert stored(central.db_url, "images") == 0
    assert stored(central.db_url, "signature_integrations") == 1
    kept = (await central.admin("GET", f"/v1/signatureintegrations/{created['id']}")).json()
    assert kept["cosign"]["publicKeys"][0]["publicKeyPemEnc"] == e2e.public_pem(stranger)


async def test_signatures_are_read_with_the_image_integration_credentials(
    central, auth_registry
) -> None:
    repo = "private/test"
    regy = e2e.Registry(auth_registry.address, ("alice", "wonderland"))
    name = f"{auth_registry.address}/{repo}"
    key = ec.generate_private_key(ec.SECP256R1())
    digest = regy.variant(repo, "signed-for-test")
    body = e2e.payload(name, digest)
    regy.sign_by_tag(repo, digest, [(body, e2e.sign(key, body))])
    request = {"signatureIntegration": settings("ci", key), "imageName": f"{name}:signed-for-test"}

    # no image integration for this registry: Central cannot read it and says so
    r = await central.admin("POST", ROUTE, json=request)
    assert r.status_code == 400, r.text
    assert r.json()["message"].startswith("signature test failed: ")

    integ = {
        "name": "private",
        "type": "docker",
        "docker": {
            "endpoint": auth_registry.address,
            "username": "alice",
            "password": "wonderland",
            "insecure": True,
        },
    }
    assert (await central.admin("POST", "/v1/imageintegrations", json=integ)).status_code == 200
    r = await central.admin("POST", ROUTE, json=request)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "VERIFIED", r.json()
    assert "wonderland" not in r.text


async def test_bad_requests_are_named_and_need_integration_write(central) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    good = settings("ci", key)

    async def refused(doc: dict[str, Any]) -> str:
        r = await central.admin("POST", ROUTE, json=doc)
        assert r.status_code == 400, r.text
        return str(r.json()["message"])

    message = await refused({"signatureIntegration": good, "imageName": "UPPER/Case"})
    assert message.startswith("imageName: ") and "names no registry host" in message
    message = await refused({"signatureIntegration": good, "imageName": "reg.test/UPPER:x"})
    assert message == "imageName: Image reference 'reg.test/UPPER:x' is not valid."
    assert await refused({"signatureIntegration": good}) == (
        "imageName is required: the image whose signatures are checked"
    )
    assert "signatureIntegration must be an object" in await refused({"imageName": "a.b/c"})
    broken = {"name": "ci", "cosign": {"publicKeys": [{"name": "ci", "publicKeyPemEnc": "x"}]}}
    message = await refused({"signatureIntegration": broken, "imageName": "a.b/c"})
    assert message.startswith('cosign.publicKeys[0] ("ci")')

    # a registry nobody listens on: a clear error, quickly (no 60 s wait)
    port = e2e._fixtures.free_port()
    started = time.monotonic()
    message = await refused(
        {"signatureIntegration": good, "imageName": f"127.0.0.1:{port}/nobody/here:1"}
    )
    assert message.startswith("signature test failed: ") and f"127.0.0.1:{port}" in message
    assert time.monotonic() - started < 30

    reader = await central.token_for("Analyst")
    r = await central.as_token(
        reader, "POST", ROUTE, json={"signatureIntegration": good, "imageName": "a.b/c"}
    )
    assert r.status_code == 403
    assert stored(central.db_url, "signature_integrations") == 0

"""Signature verification stays about the image that was scanned, on real parts (the test image
in a real registry, cosign signatures pushed beside it by test_signatures_e2e.py's helpers):

- a tag moved to a signed image (or a signed index of it) between indexing and verification
  does not lend that signature to the image indexed, at the scan nor at re-verification;
- one registry whose credentials cannot be had skips its images, not the whole re-verification;
- the verification is stored in the scan's own transaction."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import psycopg
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from psycopg.types.json import Jsonb

from stockade.central.registry_auth import RegistryAuthError

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


def stored_verification(db_url: str, image_id: str) -> Any:
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "SELECT signature_verification FROM images WHERE id = %s", (image_id,)
        ).fetchone()
    assert row is not None
    return row[0]


def sign(regy: Any, repo: str, name: str, key: ec.EllipticCurvePrivateKey, digest: str) -> None:
    body = e2e.payload(name, digest)
    regy.sign_by_tag(repo, digest, [(body, e2e.sign(key, body))])


def raw_manifest(regy: Any, repo: str, ref: str) -> bytes:
    """A manifest or an index, as stored."""
    accept = f"{e2e.OCI_MANIFEST}, {e2e.OCI_INDEX}"
    r = regy.http.get(f"{regy.base}/v2/{repo}/manifests/{ref}", headers={"Accept": accept})
    assert r.status_code == 200, r.text
    return bytes(r.content)


def index_of(regy: Any, repo: str, tag: str, child: str) -> str:
    size = len(regy.raw_manifest(repo, child))
    doc = {
        "schemaVersion": 2,
        "mediaType": e2e.OCI_INDEX,
        "manifests": [
            {
                "mediaType": e2e.OCI_MANIFEST,
                "digest": child,
                "size": size,
                "platform": {"architecture": "amd64", "os": "linux"},
            }
        ],
    }
    return str(regy.manifest(repo, tag, doc)["digest"])


async def test_a_tag_moved_to_a_signed_image_after_indexing_does_not_verify_the_scanned_one(
    central, registry, test_image, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = "sigmove/app"
    regy = await e2e.setup(central, registry, test_image, repo)
    name = f"{registry.address}/{repo}"
    trusted = ec.generate_private_key(ec.SECP256R1())
    signed = regy.variant(repo, "signed")
    sign(regy, repo, name, trusted, signed)
    signed_index = index_of(regy, repo, "signed-index", signed)
    sign(regy, repo, name, trusted, signed_index)
    ci = await e2e.integration(central, "ci", trusted)

    verifier = central.central.signature_verifier
    real_verify = verifier.verify
    target: dict[str, str] = {}

    async def verify_after_the_tag_moved(reference: str, digest: str, options: Any) -> Any:
        # the point between indexing and verification: the tag now names a signed image
        raw = await asyncio.to_thread(raw_manifest, regy, repo, target["to"])
        moved = await asyncio.to_thread(regy.manifest, repo, target["tag"], json.loads(raw))
        assert moved["digest"] == target["to"]
        return await real_verify(reference, digest, options)

    monkeypatch.setattr(verifier, "verify", verify_after_the_tag_moved)
    for tag, to in (("moving", signed), ("moving-index", signed_index)):
        unsigned = regy.variant(repo, tag)
        target.update(tag=tag, to=to)
        got = await e2e.scan(central, f"{name}:{tag}")
        assert got["id"] == unsigned, tag
        assert got.get("signatureVerifiedBy", []) == [], (tag, e2e.results(got))
        assert e2e.results(got)[ci]["status"] == "FAILED_VERIFICATION", tag
        assert stored_verification(central.db_url, unsigned)["digests"] == [unsigned], tag
    monkeypatch.setattr(verifier, "verify", real_verify)

    # a digest list stored before this check existed is read again at re-verification: the
    # signed image's digest and its index are dropped, the scanned image stays unverified
    with psycopg.connect(central.db_url) as conn:
        doc = stored_verification(central.db_url, unsigned)
        doc["digests"] = [unsigned, signed, signed_index]
        conn.execute(
            "UPDATE images SET signature_verification = %s WHERE id = %s", (Jsonb(doc), unsigned)
        )
    await e2e.integration(central, "other", ec.generate_private_key(ec.SECP256R1()))
    await verifier.wait()
    r = (await central.admin("GET", f"/v1/images/{unsigned}")).json()
    assert r.get("signatureVerifiedBy", []) == [], e2e.results(r)
    assert e2e.results(r)[ci]["status"] == "FAILED_VERIFICATION"
    assert stored_verification(central.db_url, unsigned)["digests"] == [unsigned]

    # an index that does list the image still counts (the multi-platform case)
    child = regy.variant(repo, "child")
    sign(regy, repo, name, trusted, index_of(regy, repo, "multi", child))
    got = await e2e.scan(central, f"{name}:multi")
    assert got["id"] == child and got["signatureVerifiedBy"] == [ci], e2e.results(got)


async def test_one_registry_without_credentials_does_not_stop_reverification(
    central, registry, test_image, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = "sigcreds/app"
    regy = await e2e.setup(central, registry, test_image, repo)
    name = f"{registry.address}/{repo}"
    key = ec.generate_private_key(ec.SECP256R1())
    first, second = regy.variant(repo, "first"), regy.variant(repo, "second")
    for digest in (first, second):
        sign(regy, repo, name, key, digest)
    one = await e2e.integration(central, "one", key)
    await e2e.signature_policy(central, "Signed by one", one)
    await e2e.scan(central, f"{name}:first")
    await e2e.scan(central, f"{name}:second")
    assert not e2e.fires(central.db_url, f"{name}:second", "Signed by one")

    c = central.central
    real_options = c.integrations.options_for
    calls: list[str] = []
    changed: list[list[str]] = []
    real_changed = c.policies_changed

    async def options_failing_once(registry_name: str) -> Any:
        calls.append(registry_name)
        if len(calls) == 1:  # the newest image, "second": as an ECR token exchange failing
            raise RegistryAuthError("the ECR token could not be exchanged")
        return await real_options(registry_name)

    def record_changed(policy_ids: list[str]) -> None:
        changed.append(list(policy_ids))
        real_changed(policy_ids)

    monkeypatch.setattr(c.integrations, "options_for", options_failing_once)
    monkeypatch.setattr(c, "policies_changed", record_changed)
    two = await e2e.integration(central, "two", ec.generate_private_key(ec.SECP256R1()))
    await c.signature_verifier.wait()

    assert len(calls) == 2
    failed = (await central.admin("GET", f"/v1/images/{second}")).json()
    assert failed.get("signatureVerifiedBy", []) == []
    for verifier in (one, two):
        result = e2e.results(failed)[verifier]
        assert result["status"] == "GENERIC_ERROR"
        assert "ECR token could not be exchanged" in result["description"]
    done = (await central.admin("GET", f"/v1/images/{first}")).json()
    assert done["signatureVerifiedBy"] == [one]
    assert set(e2e.results(done)) == {one, two}
    # the run ended normally: the policies reading the result were evaluated again
    assert len(changed) == 1 and changed[0]
    assert e2e.fires(central.db_url, f"{name}:second", "Signed by one")
    assert not e2e.fires(central.db_url, f"{name}:first", "Signed by one")


async def test_the_verification_is_stored_with_the_scan(
    central, registry, test_image, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = "sigtx/app"
    regy = await e2e.setup(central, registry, test_image, repo)
    name = f"{registry.address}/{repo}"
    key = ec.generate_private_key(ec.SECP256R1())
    digest = regy.variant(repo, "one")
    sign(regy, repo, name, key, digest)
    ci = await e2e.integration(central, "ci", key)

    images = central.central.images
    real_save = images.save_scan
    seen: list[Any] = []

    async def save_then_look(*args: Any, **kw: Any) -> str:
        image_id = await real_save(*args, **kw)
        # what any other reader sees once the scan's transaction committed
        seen.append(await asyncio.to_thread(stored_verification, central.db_url, image_id))
        return str(image_id)

    monkeypatch.setattr(images, "save_scan", save_then_look)
    got = await e2e.scan(central, f"{name}:one")
    assert got["signatureVerifiedBy"] == [ci]
    (committed,) = seen
    assert committed is not None
    assert [r["verifierId"] for r in committed["results"]] == [ci]
    assert committed["results"][0]["status"] == "VERIFIED"

"""Image signatures end to end on real parts: the test image in a real registry, cosign
signature artifacts pushed next to it exactly as cosign writes them (cosign itself is not
installable here), signature integrations through the API, scans through the API, and a policy
on "Image Signature Verified By"."""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location(
    "indexer_fixtures", REPO / "tests" / "scanner" / "indexer" / "conftest.py"
)
assert _spec and _spec.loader
_fixtures = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("indexer_fixtures", _fixtures)
_spec.loader.exec_module(_fixtures)
test_image = _fixtures.test_image
registry = _fixtures.registry
auth_registry = _fixtures.auth_registry

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
SIMPLE_SIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"
SIG_ARTIFACT = "application/vnd.dev.cosign.artifact.sig.v1+json"
ANNOTATION = "dev.cosignproject.cosign/signature"


# ---- cosign's artifacts, built by hand ---------------------------------------------------


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def payload(repo: str, digest: str) -> bytes:
    doc = {
        "critical": {
            "identity": {"docker-reference": repo},
            "image": {"docker-manifest-digest": digest},
            "type": "cosign container image signature",
        },
        "optional": None,
    }
    return json.dumps(doc, separators=(",", ":")).encode()


def sign(key: ec.EllipticCurvePrivateKey, data: bytes) -> str:
    return base64.b64encode(key.sign(data, ec.ECDSA(hashes.SHA256()))).decode()


def public_pem(key: ec.EllipticCurvePrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


class Registry:
    """Writes to the real registry over the distribution API."""

    def __init__(self, address: str, auth: tuple[str, str] | None = None) -> None:
        self.base = f"http://{address}"
        self.address = address
        self.http = httpx.Client(timeout=30, auth=auth)

    def blob(self, repo: str, data: bytes) -> dict[str, Any]:
        digest = digest_of(data)
        r = self.http.post(f"{self.base}/v2/{repo}/blobs/uploads/")
        assert r.status_code == 202, r.text
        url = httpx.URL(self.base).join(r.headers["location"])
        r = self.http.put(url.copy_add_param("digest", digest), content=data)
        assert r.status_code == 201, r.text
        return {"digest": digest, "size": len(data)}

    def manifest(self, repo: str, ref: str, doc: dict[str, Any]) -> dict[str, Any]:
        data = json.dumps(doc).encode()
        media_type = doc["mediaType"]
        r = self.http.put(
            f"{self.base}/v2/{repo}/manifests/{ref}",
            content=data,
            headers={"Content-Type": media_type},
        )
        assert r.status_code == 201, r.text
        return {"mediaType": media_type, "digest": digest_of(data), "size": len(data)}

    def get_manifest(self, repo: str, ref: str) -> dict[str, Any]:
        return dict(json.loads(self.raw_manifest(repo, ref)))

    def raw_manifest(self, repo: str, ref: str) -> bytes:
        r = self.http.get(
            f"{self.base}/v2/{repo}/manifests/{ref}", headers={"Accept": OCI_MANIFEST}
        )
        assert r.status_code == 200, r.text
        assert digest_of(r.content) == r.headers["docker-content-digest"]
        return r.content

    def variant(self, repo: str, tag: str) -> str:
        """The image under ``tag`` with one annotation more: the same layers, a new digest."""
        doc = self.get_manifest(repo, "latest")
        doc["annotations"] = {**doc.get("annotations", {}), "org.stockade.test": tag}
        doc.setdefault("mediaType", OCI_MANIFEST)
        return str(self.manifest(repo, tag, doc)["digest"])

    def signature_manifest(self, repo: str, layers: list[tuple[bytes, str]]) -> dict[str, Any]:
        """What cosign pushes: a config naming each payload as a diff id, one simple-signing
        layer per signature with the base64 signature in an annotation."""
        descs = []
        for body, sig in layers:
            descs.append(
                {
                    **self.blob(repo, body),
                    "mediaType": SIMPLE_SIGNING,
                    "annotations": {ANNOTATION: sig},
                }
            )
        config = {
            "architecture": "",
            "created": "0001-01-01T00:00:00Z",
            "history": [{"created": "0001-01-01T00:00:00Z"}],
            "os": "",
            "rootfs": {"type": "layers", "diff_ids": [d["digest"] for d in descs]},
            "config": {},
        }
        raw = json.dumps(config, separators=(",", ":")).encode()
        return {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {**self.blob(repo, raw), "mediaType": OCI_CONFIG},
            "layers": descs,
        }

    def sign_by_tag(self, repo: str, digest: str, layers: list[tuple[bytes, str]]) -> None:
        tag = "sha256-" + digest.removeprefix("sha256:") + ".sig"
        self.manifest(repo, tag, self.signature_manifest(repo, layers))

    def sign_by_referrer(
        self, repo: str, subject: dict[str, Any], layer: tuple[bytes, str]
    ) -> None:
        """cosign's OCI 1.1 mode on a registry without the referrers API: the signature
        manifest names its subject, and the fallback tag sha256-<hex> holds the index."""
        doc = {
            **self.signature_manifest(repo, [layer]),
            "artifactType": SIG_ARTIFACT,
            "subject": subject,
        }
        desc = self.manifest(repo, digest_of(json.dumps(doc).encode()), doc)
        index = {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [{**desc, "artifactType": SIG_ARTIFACT}],
        }
        self.manifest(repo, subject["digest"].replace(":", "-"), index)


# ---- the tests ---------------------------------------------------------------------------


def fires(db_url: str, image: str, policy: str = "Signed by first") -> bool:
    """An ACTIVE build alert of ``policy`` for ``image``."""
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM alerts WHERE image_name = %s AND policy_name = %s"
            " AND state = 'ACTIVE'",
            (image, policy),
        ).fetchone()
    assert row is not None
    return bool(row[0])


async def signature_policy(central: Any, name: str, integration_id: str) -> None:
    """A build policy that fires when an image is not verified by ``integration_id``."""
    group = {"fieldName": "Image Signature Verified By", "values": [{"value": integration_id}]}
    policy = {
        "name": name,
        "severity": "HIGH_SEVERITY",
        "lifecycleStages": ["BUILD"],
        "categories": ["Supply Chain Security"],
        "policySections": [{"policyGroups": [group]}],
    }
    assert (await central.admin("POST", "/v1/policies", json=policy)).status_code == 200


async def scan(central: Any, image: str) -> dict[str, Any]:
    r = await central.admin("POST", "/v1/images/scan", json={"imageName": image, "force": True})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    assert body["scanState"] == "SCANNED"
    return body


def results(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["verifierId"]: r for r in body["signatureVerificationData"]["results"]}


async def integration(central: Any, name: str, key: ec.EllipticCurvePrivateKey) -> str:
    doc = {
        "name": name,
        "cosign": {"publicKeys": [{"name": "ci", "publicKeyPemEnc": public_pem(key)}]},
    }
    r = await central.admin("POST", "/v1/signatureintegrations", json=doc)
    assert r.status_code == 200, r.text
    return str(r.json()["id"])


async def setup(central: Any, reg: Any, image: Any, repo: str) -> Registry:
    reg.push(f"{image.oci}:test", f"{repo}:latest")
    integ = {
        "name": "local",
        "type": "docker",
        "docker": {"endpoint": reg.address, "insecure": True},
    }
    assert (await central.admin("POST", "/v1/imageintegrations", json=integ)).status_code == 200
    return Registry(reg.address)


async def test_scan_verifies_cosign_signatures_and_the_policy_follows(
    central, registry, test_image
) -> None:
    repo = "sig/app"
    regy = await setup(central, registry, test_image, repo)
    name = f"{registry.address}/{repo}"
    trusted, stranger = (
        ec.generate_private_key(ec.SECP256R1()),
        ec.generate_private_key(ec.SECP256R1()),
    )

    signed_digest = digest_of(regy.raw_manifest(repo, "latest"))
    body = payload(name, signed_digest)
    regy.sign_by_tag(repo, signed_digest, [(body, sign(trusted, body))])

    unsigned = regy.variant(repo, "unsigned")
    other_key = regy.variant(repo, "otherkey")
    body = payload(name, other_key)
    regy.sign_by_tag(repo, other_key, [(body, sign(stranger, body))])
    other_digest = regy.variant(repo, "otherdigest")
    body = payload(name, signed_digest)  # a real signature, but of another image
    regy.sign_by_tag(repo, other_digest, [(body, sign(trusted, body))])
    garbage = regy.variant(repo, "garbage")
    regy.sign_by_tag(repo, garbage, [(b"\x00not json", "%%% not base64 %%%")])

    ci = await integration(central, "ci", trusted)
    await signature_policy(central, "Images must be signed by CI", ci)

    got = await scan(central, f"{name}:latest")
    assert got["id"] == signed_digest
    assert got["signatureVerifiedBy"] == [ci]
    assert results(got)[ci]["status"] == "VERIFIED"
    assert "'ci'" in results(got)[ci]["description"]

    expected = {
        "unsigned": ("FAILED_VERIFICATION", "no cosign signature was found"),
        "otherkey": ("FAILED_VERIFICATION", "made with none of the keys"),
        "otherdigest": ("FAILED_VERIFICATION", f"signs another image digest ({signed_digest})"),
        "garbage": ("CORRUPTED_SIGNATURE", "not base64"),
    }
    for tag, (status, reason) in expected.items():
        got = await scan(central, f"{name}:{tag}")
        assert "signatureVerifiedBy" not in got or got["signatureVerifiedBy"] == [], tag
        assert results(got)[ci]["status"] == status, (tag, results(got))
        assert reason in results(got)[ci]["description"], (tag, results(got))
    assert {unsigned, other_key, other_digest, garbage} == {
        (await central.admin("GET", f"/v1/images?query=Image%20Tag:{t}")).json()["images"][0]["id"]
        for t in expected
    }

    # the stored image (what the policy engine and the API read) carries the result
    r = await central.admin("GET", f"/v1/images/{signed_digest}")
    assert r.json()["signatureVerifiedBy"] == [ci]

    # "Image Signature Verified By" fires when the image is NOT verified by the listed integration
    for tag in ("latest", *expected):
        r = await central.admin("POST", "/v1/detect/build", json={"imageName": f"{name}:{tag}"})
        assert r.status_code == 200, r.text
        fired = "Images must be signed by CI" in {a["policy"]["name"] for a in r.json()["alerts"]}
        assert fired == (tag != "latest"), tag


async def test_integration_changes_reverify_stored_images_and_referrers_are_read(
    central, registry, test_image
) -> None:
    repo = "sig/other"
    regy = await setup(central, registry, test_image, repo)
    name = f"{registry.address}/{repo}"
    first, second = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP384R1())

    by_second = regy.variant(repo, "second")
    body = payload(name, by_second)
    regy.sign_by_tag(repo, by_second, [(body, sign(second, body))])

    # signed through OCI 1.1 referrers (fallback tag), and an index signed as a whole
    referred = regy.variant(repo, "referred")
    body = payload(name, referred)
    size = len(regy.raw_manifest(repo, referred))
    subject = {"mediaType": OCI_MANIFEST, "digest": referred, "size": size}
    regy.sign_by_referrer(repo, subject, (body, sign(first, body)))
    child = regy.variant(repo, "child")
    child_size = len(regy.raw_manifest(repo, child))
    index = regy.manifest(
        repo,
        "multi",
        {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [
                {
                    "mediaType": OCI_MANIFEST,
                    "digest": child,
                    "size": child_size,
                    "platform": {"architecture": "amd64", "os": "linux"},
                }
            ],
        },
    )
    body = payload(name, index["digest"])
    regy.sign_by_tag(repo, index["digest"], [(body, sign(first, body))])

    one = await integration(central, "first", first)
    await signature_policy(central, "Signed by first", one)
    got = await scan(central, f"{name}:second")
    assert results(got)[one]["status"] == "FAILED_VERIFICATION"
    got = await scan(central, f"{name}:referred")
    assert got["signatureVerifiedBy"] == [one], results(got)
    assert fires(central.db_url, f"{name}:second")
    assert not fires(central.db_url, f"{name}:referred")
    got = await scan(central, f"{name}:multi")
    assert got["id"] == child and got["signatureVerifiedBy"] == [one], results(got)

    # a new integration re-verifies what is stored, in the background
    two = await integration(central, "second", second)
    await central.central.signature_verifier.wait()
    r = await central.admin("GET", f"/v1/images/{by_second}")
    assert r.json()["signatureVerifiedBy"] == [two]
    assert set(results(r.json())) == {one, two}
    # the index's digest was remembered: the child is verified again through it
    r = await central.admin("GET", f"/v1/images/{child}")
    assert r.json()["signatureVerifiedBy"] == [one]

    # deleting an integration takes its verification away
    assert (await central.admin("DELETE", f"/v1/signatureintegrations/{one}")).status_code == 200
    await central.central.signature_verifier.wait()
    r = await central.admin("GET", f"/v1/images/{referred}")
    assert r.json().get("signatureVerifiedBy", []) == []
    assert set(results(r.json())) == {two}
    # and its build policies were evaluated again: the policy on the deleted one now fires
    assert fires(central.db_url, f"{name}:referred")


async def test_signatures_are_read_with_the_registry_credentials_and_failures_are_reasons(
    central, auth_registry
) -> None:
    repo = "private/test"  # pushed by the fixture, behind basic auth
    regy = Registry(auth_registry.address, ("alice", "wonderland"))
    name = f"{auth_registry.address}/{repo}"
    key = ec.generate_private_key(ec.SECP256R1())
    digest = digest_of(regy.raw_manifest(repo, "latest"))
    body = payload(name, digest)
    regy.sign_by_tag(repo, digest, [(body, sign(key, body))])
    ci = await integration(central, "ci", key)
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
    got = await scan(central, f"{name}:latest")
    assert got["signatureVerifiedBy"] == [ci], results(got)

    # the registry's credentials are taken away: re-verification cannot read the signatures,
    # says so per integration, and the image is no longer verified (the scan stays)
    r = await central.admin("GET", "/v1/imageintegrations")
    (stored,) = r.json()["integrations"]
    integ["docker"]["password"] = "wrong"
    integ["id"] = stored["id"]
    r = await central.admin("PUT", f"/v1/imageintegrations/{stored['id']}", json=integ)
    assert r.status_code == 200, r.text
    other = await integration(central, "other", ec.generate_private_key(ec.SECP256R1()))
    await central.central.signature_verifier.wait()
    r = (await central.admin("GET", f"/v1/images/{digest}")).json()
    assert r["scanState"] == "SCANNED" and r.get("signatureVerifiedBy", []) == []
    for verifier in (ci, other):
        assert results(r)[verifier]["status"] == "GENERIC_ERROR"
        assert "could not be asked for signatures" in results(r)[verifier]["description"]
        assert "wonderland" not in results(r)[verifier]["description"]

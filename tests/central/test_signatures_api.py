"""/v1/signatureintegrations on a real Central: the product's JSON, validation that names the
bad key and stores nothing, ids, permissions and the audit log."""

from __future__ import annotations

import re

import psycopg
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

pytestmark = pytest.mark.integration

ID = re.compile(r"^io\.stackrox\.signatureintegration\.[0-9a-f-]{36}$")


def pem(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


P256 = pem(ec.generate_private_key(ec.SECP256R1()))
ED = pem(ed25519.Ed25519PrivateKey.generate())


def doc(name: str, *keys: tuple[str, str]) -> dict[str, object]:
    return {
        "name": name,
        "cosign": {"publicKeys": [{"name": n, "publicKeyPemEnc": p} for n, p in keys]},
    }


def stored_count(db_url: str) -> int:
    with psycopg.connect(db_url) as conn:
        row = conn.execute("SELECT count(*) FROM signature_integrations").fetchone()
        assert row is not None
        return int(row[0])


async def test_create_list_get_update_delete(central) -> None:
    r = await central.admin("POST", "/v1/signatureintegrations", json=doc("ci", ("main", P256)))
    assert r.status_code == 200, r.text
    created = r.json()
    assert ID.match(created["id"])
    assert created["name"] == "ci"
    assert created["cosign"]["publicKeys"] == [{"name": "main", "publicKeyPemEnc": P256}]
    assert created["cosignCertificates"] == [] and created["transparencyLog"]["enabled"] is False

    listed = (await central.admin("GET", "/v1/signatureintegrations")).json()["integrations"]
    assert [i["id"] for i in listed] == [created["id"]]
    got = await central.admin("GET", f"/v1/signatureintegrations/{created['id']}")
    assert got.json() == created

    body = {**doc("ci-renamed", ("main", P256), ("backup", ED)), "id": created["id"]}
    r = await central.admin("PUT", f"/v1/signatureintegrations/{created['id']}", json=body)
    assert r.status_code == 200, r.text
    got = (await central.admin("GET", f"/v1/signatureintegrations/{created['id']}")).json()
    assert got["name"] == "ci-renamed"
    assert [k["name"] for k in got["cosign"]["publicKeys"]] == ["main", "backup"]

    r = await central.admin("DELETE", f"/v1/signatureintegrations/{created['id']}")
    assert r.status_code == 200
    r = await central.admin("GET", f"/v1/signatureintegrations/{created['id']}")
    assert r.status_code == 404
    r = await central.admin("DELETE", f"/v1/signatureintegrations/{created['id']}")
    assert r.status_code == 404

    events = (await central.admin("GET", "/v1/auditlog")).json()["events"]
    paths = {(e["method"], e["path"].rsplit(".", 1)[0]) for e in events}
    assert ("POST", "/v1/signatureintegrations") in paths
    assert ("PUT", "/v1/signatureintegrations/io.stackrox.signatureintegration") in paths
    assert ("DELETE", "/v1/signatureintegrations/io.stackrox.signatureintegration") in paths


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"cosign": {"publicKeys": [{"name": "k", "publicKeyPemEnc": P256}]}}, 400, "name"),
        ({"name": "x", "cosign": {"publicKeys": []}}, 400, "at least one public key"),
        ({"name": "x"}, 400, "at least one public key"),
        (
            doc(
                "x",
                ("good", P256),
                ("broken", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"),
            ),
            400,
            'cosign.publicKeys[1] ("broken") is not a valid PEM public key',
        ),
        (
            doc(
                "x",
                ("old-rsa", pem(rsa.generate_private_key(public_exponent=65537, key_size=1024))),
            ),
            400,
            'cosign.publicKeys[0] ("old-rsa") is an RSA key of 1024 bits',
        ),
        (doc("x", ("a", P256), ("a", ED)), 400, "same name"),
        ({"name": "x", "cosign": {"publicKeys": [{"publicKeyPemEnc": P256}]}}, 400, "needs a name"),
        (
            {**doc("x", ("a", P256)), "cosignCertificates": [{"certificatePemEnc": "x"}]},
            400,
            "cosignCertificates",
        ),
        (
            {**doc("x", ("a", P256)), "transparencyLog": {"enabled": True}},
            400,
            "transparencyLog",
        ),
        ({**doc("x", ("a", P256)), "id": "io.stackrox.signatureintegration.x"}, 400, "id"),
        (["not", "an", "object"], 400, "JSON object"),
    ],
)
async def test_invalid_bodies_are_refused_and_nothing_is_stored(
    central, body: object, status: int, message: str
) -> None:
    r = await central.admin("POST", "/v1/signatureintegrations", json=body)
    assert r.status_code == status, r.text
    assert message in r.json()["message"]
    assert stored_count(central.db_url) == 0


async def test_disabled_transparency_log_and_empty_certificates_are_accepted(central) -> None:
    body = {
        **doc("x", ("a", P256)),
        "cosignCertificates": [],
        "transparencyLog": {"enabled": False, "url": "", "validateOffline": False},
    }
    r = await central.admin("POST", "/v1/signatureintegrations", json=body)
    assert r.status_code == 200, r.text


async def test_names_are_unique_and_ids_have_the_product_format(central) -> None:
    r = await central.admin("POST", "/v1/signatureintegrations", json=doc("dup", ("a", P256)))
    first = r.json()["id"]
    r = await central.admin("POST", "/v1/signatureintegrations", json=doc("dup", ("b", ED)))
    assert r.status_code == 409 and "dup" in r.json()["message"]
    other = (
        await central.admin("POST", "/v1/signatureintegrations", json=doc("other", ("b", ED)))
    ).json()["id"]
    r = await central.admin("PUT", f"/v1/signatureintegrations/{other}", json=doc("dup", ("b", ED)))
    assert r.status_code == 409
    bare = first.rsplit(".", 1)[1]  # the uuid alone is not an id
    assert (await central.admin("GET", f"/v1/signatureintegrations/{bare}")).status_code == 404
    r = await central.admin("PUT", f"/v1/signatureintegrations/{bare}", json=doc("z", ("a", P256)))
    assert r.status_code == 404
    r = await central.admin(
        "PUT", f"/v1/signatureintegrations/{first}", json={**doc("dup", ("a", P256)), "id": other}
    )
    assert r.status_code == 400 and "differs" in r.json()["message"]


async def test_analyst_reads_but_cannot_write(central) -> None:
    created = (
        await central.admin("POST", "/v1/signatureintegrations", json=doc("ci", ("a", P256)))
    ).json()
    analyst = await central.token_for("Analyst")
    r = await central.as_token(analyst, "GET", "/v1/signatureintegrations")
    assert r.status_code == 200 and len(r.json()["integrations"]) == 1
    r = await central.as_token(
        analyst, "POST", "/v1/signatureintegrations", json=doc("mine", ("a", P256))
    )
    assert r.status_code == 403
    r = await central.as_token(analyst, "DELETE", f"/v1/signatureintegrations/{created['id']}")
    assert r.status_code == 403
    assert stored_count(central.db_url) == 1

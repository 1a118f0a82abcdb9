"""The signature integrations page over Central's ASGI app: list, add with a PEM textarea (a bad
key's error beside the field, nothing saved), delete with the CSRF token."""

from __future__ import annotations

import re

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from .test_portal import logged_in

pytestmark = pytest.mark.integration

PEM = (
    ed25519.Ed25519PrivateKey.generate()
    .public_key()
    .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    .decode()
)
BASE = "/main/integrations/signatures"


def field_error(html: str, dom_id: str) -> str:
    m = re.search(rf'<p class="field-error" id="{re.escape(dom_id)}-error"[^>]*>([^<]+)</p>', html)
    return m.group(1) if m else ""


async def test_add_list_and_delete_a_signature_integration(central) -> None:
    b = await logged_in(central)
    assert BASE in (await b.get("/main/integrations")).text
    token = await b.csrf(BASE + "/new")
    form = {"csrf_token": token, "name": "release", "key_name": "ci", "pem": "not a key"}

    r = await b.post(BASE + "/new", form)
    assert r.status_code == 400
    assert field_error(r.text, "pem") == (
        "cosign.publicKeys[0] (&#34;ci&#34;) must hold exactly one PEM block"
    )
    assert 'aria-describedby="pem-hint pem-error"' in r.text
    assert "not a key" in r.text  # what was typed stays in the textarea
    r = await b.post(BASE + "/new", {**form, "pem": PEM, "key_name": ""})
    assert r.status_code == 400 and "needs a name" in field_error(r.text, "key_name")
    assert (await central.admin("GET", "/v1/signatureintegrations")).json()["integrations"] == []

    r = await b.post(BASE + "/new", {**form, "pem": PEM})
    assert r.status_code == 303 and r.headers["location"] == BASE
    (saved,) = (await central.admin("GET", "/v1/signatureintegrations")).json()["integrations"]
    listing = (await b.get(BASE)).text
    assert 'data-signature-integration="release"' in listing
    assert saved["id"] in listing and "(Ed25519)" in listing

    r = await b.post(BASE + "/new", {**form, "pem": PEM})
    assert r.status_code == 400 and "already exists" in field_error(r.text, "name")

    r = await b.post(f"{BASE}/{saved['id']}/delete", {})
    assert r.status_code == 403
    r = await b.post(f"{BASE}/{saved['id']}/delete", {"csrf_token": token})
    assert r.status_code == 303
    assert (await central.admin("GET", "/v1/signatureintegrations")).json()["integrations"] == []

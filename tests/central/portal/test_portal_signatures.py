"""The signature integrations pages over Central's ASGI app: list, add with a PEM textarea (a bad
key's error beside the field, nothing saved), edit (rename, add and remove keys; an error
beside the exact key's field, nothing saved), "Test" against an image in a real registry, and
delete with the CSRF token."""

from __future__ import annotations

import html
import importlib.util
import re
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from .test_portal import logged_in

pytestmark = pytest.mark.integration

PEM = (
    ed25519.Ed25519PrivateKey.generate()
    .public_key()
    .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    .decode()
)
BASE = "/main/integrations/signatures"


def field_error(text: str, dom_id: str) -> str:
    m = re.search(rf'<p class="field-error" id="{re.escape(dom_id)}-error"[^>]*>([^<]+)</p>', text)
    return html.unescape(m.group(1)) if m else ""


def shown_result(text: str) -> tuple[str, str]:
    m = re.search(r'<p id="test-result"[^>]*data-ok="(\w+)">([^<]+)</p>', text)
    assert m, text
    return m.group(1), html.unescape(m.group(2))


async def listed(central: Any) -> list[dict[str, Any]]:
    r = await central.admin("GET", "/v1/signatureintegrations")
    integrations: list[dict[str, Any]] = r.json()["integrations"]
    return integrations


async def test_add_list_and_delete_a_signature_integration(central) -> None:
    b = await logged_in(central)
    assert BASE in (await b.get("/main/integrations")).text
    token = await b.csrf(BASE + "/new")
    form = {"csrf_token": token, "name": "release", "key_name_0": "ci", "pem_0": "not a key"}

    r = await b.post(BASE + "/new", form)
    assert r.status_code == 400
    assert field_error(r.text, "pem_0") == (
        'cosign.publicKeys[0] ("ci") must hold exactly one PEM block'
    )
    assert 'aria-describedby="pem_0-hint pem_0-error"' in r.text
    assert "not a key" in r.text  # what was typed stays in the textarea
    r = await b.post(BASE + "/new", {**form, "pem_0": PEM, "key_name_0": ""})
    assert r.status_code == 400 and "needs a name" in field_error(r.text, "key_name_0")
    assert await listed(central) == []

    r = await b.post(BASE + "/new", {**form, "pem_0": PEM})
    assert r.status_code == 303 and r.headers["location"] == BASE
    (saved,) = await listed(central)
    listing = (await b.get(BASE)).text
    assert 'data-signature-integration="release"' in listing
    assert saved["id"] in listing and "(Ed25519)" in listing
    assert f'href="{BASE}/{saved["id"]}/edit"' in listing

    r = await b.post(BASE + "/new", {**form, "pem_0": PEM})
    assert r.status_code == 400 and "already exists" in field_error(r.text, "name")

    r = await b.post(f"{BASE}/{saved['id']}/delete", {})
    assert r.status_code == 403
    r = await b.post(f"{BASE}/{saved['id']}/delete", {"csrf_token": token})
    assert r.status_code == 303
    assert await listed(central) == []


def pem_of(key: ec.EllipticCurvePrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


async def test_edit_renames_and_adds_and_removes_keys_with_errors_beside_the_key(central) -> None:
    p256, p384 = (pem_of(ec.generate_private_key(c)) for c in (ec.SECP256R1(), ec.SECP384R1()))
    doc = {"name": "ci", "cosign": {"publicKeys": [{"name": "main", "publicKeyPemEnc": p256}]}}
    created = (await central.admin("POST", "/v1/signatureintegrations", json=doc)).json()
    edit = f"{BASE}/{created['id']}/edit"
    b = await logged_in(central)
    page = await b.get(edit)
    assert page.status_code == 200
    assert 'value="ci"' in page.text and 'value="main"' in page.text
    assert p256.strip() in html.unescape(page.text)
    token = await b.csrf(edit)
    base = {"csrf_token": token, "name": "ci", "key_name_0": "main", "pem_0": p256}

    # "Add another key" posts the form back with one more (empty) row; nothing is saved
    r = await b.post(edit, {**base, "name": "renamed", "action": "add_key"})
    assert r.status_code == 200
    assert 'id="key_name_1"' in r.text and 'id="pem_1"' in r.text
    assert 'value="renamed"' in r.text
    assert (await listed(central))[0]["name"] == "ci"

    # a bad second key: its error sits beside that key's PEM field, the first key is untouched
    three = {
        **base,
        "name": "renamed",
        "key_name_1": "backup",
        "pem_1": "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----",
        "key_name_2": "",
        "pem_2": "",
        "key_name_3": "spare",
        "pem_3": p384,
        "action": "save",
    }
    r = await b.post(edit, three)
    assert r.status_code == 400
    assert field_error(r.text, "pem_1").startswith('cosign.publicKeys[1] ("backup")')
    assert field_error(r.text, "pem_0") == "" and field_error(r.text, "pem_3") == ""
    # the blank third row is not sent, so the fourth row's duplicate name names the fourth row
    r = await b.post(edit, {**three, "pem_1": p384, "key_name_3": "backup"})
    assert r.status_code == 400
    assert "the same name" in field_error(r.text, "key_name_3")
    assert field_error(r.text, "key_name_1") == ""
    assert (await listed(central))[0]["cosign"]["publicKeys"] == [
        {"name": "main", "publicKeyPemEnc": p256}
    ]

    # "Remove key" drops that row only
    r = await b.post(edit, {**three, "pem_1": p384, "action": "remove_key:0"})
    assert r.status_code == 200
    assert 'value="main"' not in r.text and 'value="backup"' in r.text

    # saved: renamed, first key removed, two keys added (the blank row ignored)
    r = await b.post(
        edit,
        {
            "csrf_token": token,
            "name": "renamed",
            "key_name_0": "backup",
            "pem_0": p384,
            "key_name_1": "",
            "pem_1": "",
            "key_name_2": "spare",
            "pem_2": p256,
            "action": "save",
        },
    )
    assert r.status_code == 303 and r.headers["location"] == BASE
    (saved,) = await listed(central)
    assert saved["id"] == created["id"] and saved["name"] == "renamed"
    assert [k["name"] for k in saved["cosign"]["publicKeys"]] == ["backup", "spare"]
    listing = (await b.get(BASE)).text
    assert "ECDSA P-384" in listing and "ECDSA P-256" in listing

    # removing every key is refused on save, with the reason
    r = await b.post(edit, {"csrf_token": token, "name": "renamed", "action": "save"})
    assert r.status_code == 400 and "at least one public key" in r.text
    assert len((await listed(central))[0]["cosign"]["publicKeys"]) == 2

    assert (await b.get(f"{BASE}/io.stackrox.signatureintegration.nope/edit")).status_code == 404


def _load_e2e() -> Any:
    name = "signatures_e2e"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            name, Path(__file__).parents[1] / "test_signatures_e2e.py"
        )
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


e2e = _load_e2e()
registry = e2e.registry
test_image = e2e.test_image


@pytest.mark.slow
async def test_the_test_button_checks_an_image_against_the_unsaved_keys(
    central, registry, test_image
) -> None:
    repo = "sigportal/app"
    regy = await e2e.setup(central, registry, test_image, repo)
    name = f"{registry.address}/{repo}"
    trusted, stranger = (ec.generate_private_key(ec.SECP256R1()) for _ in range(2))
    digest = e2e.digest_of(regy.raw_manifest(repo, "latest"))
    body = e2e.payload(name, digest)
    regy.sign_by_tag(repo, digest, [(body, e2e.sign(trusted, body))])

    b = await logged_in(central)
    token = await b.csrf(BASE + "/new")
    form = {
        "csrf_token": token,
        "name": "release",
        "key_name_0": "ci",
        "pem_0": pem_of(trusted),
        "image": f"{name}:latest",
        "action": "test",
    }
    r = await b.post(BASE + "/new", form)
    assert r.status_code == 200, r.text
    assert shown_result(r.text) == (
        "true",
        f"Test passed: verified. {digest} verified with public key 'ci'",
    )
    r = await b.post(BASE + "/new", {**form, "pem_0": pem_of(stranger)})
    assert r.status_code == 400
    ok, message = shown_result(r.text)
    assert ok == "false" and message.startswith("Test failed: not verified (FAILED_VERIFICATION).")
    assert "made with none of the keys" in message
    r = await b.post(BASE + "/new", {**form, "image": "no-registry"})
    assert r.status_code == 400 and "names no registry host" in field_error(r.text, "image")
    port = e2e._fixtures.free_port()
    r = await b.post(BASE + "/new", {**form, "image": f"127.0.0.1:{port}/a/b:1"})
    assert r.status_code == 400
    ok, message = shown_result(r.text)
    assert ok == "false" and f"127.0.0.1:{port}" in message
    assert await listed(central) == []  # testing saved nothing

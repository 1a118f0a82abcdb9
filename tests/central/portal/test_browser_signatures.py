"""The signature integrations page in Chromium: a bad public key's error sits right under the
PEM field and nothing is saved; a good key is listed with its kind; on the edit page a second
key is added and its error sits under that key's field; screenshots in
test-artifacts/portal/."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from .test_browser import VIEWPORT, ServedCentral, browser, login, page, served, shot

pytestmark = [pytest.mark.integration, pytest.mark.slow]
__all__ = ["browser", "page", "served"]  # fixtures shared with the main browser suite

PEM = (
    ec.generate_private_key(ec.SECP384R1())
    .public_key()
    .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    .decode()
)


def test_add_a_signature_integration_with_a_pem_key(page: Any, served: ServedCentral) -> None:
    login(page, served)
    page.goto("/main/integrations")
    page.get_by_role("link", name="Signature integrations").click()
    page.get_by_role("link", name="Add signature integration").click()
    page.locator("#name").fill("release keys")
    page.get_by_label("Key 1 name").fill("ci")
    pem = page.get_by_label("Key 1 public key (PEM)")
    pem.fill(PEM.replace("MH", "XX", 1))  # damaged: still one PEM block, not a key
    page.get_by_role("button", name="Save").click()
    error = page.locator("#pem_0-error")
    assert 'cosign.publicKeys[0] ("ci")' in error.inner_text()
    assert pem.get_attribute("aria-invalid") == "true"
    box, err = pem.bounding_box(), error.bounding_box()
    assert 0 <= err["y"] - (box["y"] + box["height"]) < 80  # under the field and its hint
    assert page.evaluate("document.documentElement.scrollWidth") <= VIEWPORT["width"]
    shot(page, "signature-integration-invalid")
    assert served.api("/v1/signatureintegrations")["integrations"] == []

    pem.fill(PEM)
    page.get_by_role("button", name="Save").click()
    page.wait_for_url("**/main/integrations/signatures")
    row = page.locator('tr[data-signature-integration="release keys"]')
    assert "ECDSA P-384" in row.inner_text()
    (saved,) = served.api("/v1/signatureintegrations")["integrations"]
    assert saved["id"] in row.inner_text()
    shot(page, "signature-integrations")

    # edit: a second key, damaged; its error is under the second key's field, not the first's
    row.get_by_role("link", name="release keys").click()
    page.get_by_role("button", name="Add another key").click()
    page.get_by_label("Key 2 name").fill("backup")
    second = page.get_by_label("Key 2 public key (PEM)")
    second.fill(PEM.replace("MH", "XX", 1))
    page.locator("#name").fill("release keys v2")
    page.get_by_role("button", name="Save", exact=True).click()
    error = page.locator("#pem_1-error")
    assert 'cosign.publicKeys[1] ("backup")' in error.inner_text()
    assert page.locator("#pem_0-error").count() == 0
    box, err = second.bounding_box(), error.bounding_box()
    assert 0 <= err["y"] - (box["y"] + box["height"]) < 80
    assert page.evaluate("document.documentElement.scrollWidth") <= VIEWPORT["width"]
    shot(page, "signature-integration-edit-invalid")
    assert served.api("/v1/signatureintegrations")["integrations"][0]["name"] == "release keys"

    second.fill(PEM)
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url("**/main/integrations/signatures")
    (saved,) = served.api("/v1/signatureintegrations")["integrations"]
    assert saved["name"] == "release keys v2"
    assert [k["name"] for k in saved["cosign"]["publicKeys"]] == ["ci", "backup"]

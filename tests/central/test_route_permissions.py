"""Every route but the few public ones refuses a caller without credentials, and one whose
role has no access at all; none answers 500 to either."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.integration

PUBLIC = {"/v1/ping", "/readyz", "/v1/metadata", "/v1/config/public", "/openapi.json", "/docs"}
# any authenticated caller: about the caller itself, or filtered per resource inside
SELF = {"/v1/auth/status", "/v1/mypermissions", "/v1/search", "/v1/search/options"}


def concrete(path: str) -> str:
    # a syntactically valid value for every path parameter
    return re.sub(r"\{[^}]+\}", "00000000-0000-0000-0000-000000000000", path)


async def test_every_protected_route_needs_credentials_and_permission(central) -> None:
    spec = (await central.client.get("/openapi.json")).json()
    nobody = await central.token_for("None", "nobody")
    checked = 0
    for template, operations in spec["paths"].items():
        if template in PUBLIC:
            continue
        for method in operations:
            path = concrete(template)
            r = await central.client.request(method.upper(), path)
            assert r.status_code == 401, (method, template, r.status_code, r.text)
            r = await central.as_token(nobody, method.upper(), path)
            want = 200 if template in SELF else 403
            assert r.status_code == want, (method, template, r.status_code, r.text)
            checked += 1
    assert checked > 60

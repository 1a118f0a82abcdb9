"""The portal's images page: severity, fixable, CVSS and sort filters, each the API's query."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from tests.central.portal.test_portal import logged_in

from stockade.model.image import Component, Image, ImageName, Severity, Vulnerability

pytestmark = pytest.mark.integration

NAME = re.compile(r'<tr><td><a href="/main/vulnerabilities/images/[^"]+">([^<]+)</a></td>')


def _image(n: int, *vulns: Vulnerability) -> Image:
    return Image(
        name=ImageName.parse(f"quay.io/acme/app{n}:1"),
        id="sha256:" + f"{n:064x}",
        components=(Component("libx", "1", "dpkg", "", 0, vulns),),
        scanned=dt.datetime.now(dt.UTC),
    )


async def test_images_page_filters_and_sorts(central) -> None:
    crit_fixed = Vulnerability("CVE-2024-1", cvss=9.8, severity=Severity.CRITICAL, fixed_by="2")
    moderate = Vulnerability("CVE-2024-2", cvss=5.3, severity=Severity.MODERATE)
    low = Vulnerability("CVE-2024-3", cvss=3.1, severity=Severity.LOW)
    store = central.central.images
    await store.save_scan(_image(1, crit_fixed, low))
    await store.save_scan(_image(2, moderate))
    await store.save_scan(_image(3, moderate, low))
    await store.save_scan(_image(4))

    b = await logged_in(central)

    async def names(params: str) -> list[str]:
        r = await b.get(f"/main/vulnerabilities/images?{params}")
        assert r.status_code == 200, r.text
        return [n.split("/")[-1] for n in NAME.findall(r.text)]

    assert await names("") == ["app1:1", "app2:1", "app3:1", "app4:1"]  # by top CVSS
    assert await names("severity=MODERATE") == ["app2:1", "app3:1"]
    assert await names("fixable=true") == ["app1:1"]
    assert await names("cvss=5") == ["app1:1", "app2:1", "app3:1"]
    assert await names("sort=CVE+Count") == ["app1:1", "app3:1", "app2:1", "app4:1"]
    assert await names("severity=LOW&cvss=9") == ["app1:1"]
    assert await names("sort=Image") == ["app1:1", "app2:1", "app3:1", "app4:1"]
    # an unknown sort or severity falls back to the defaults instead of failing
    assert await names("sort=bogus&severity=SEVERE") == ["app1:1", "app2:1", "app3:1", "app4:1"]

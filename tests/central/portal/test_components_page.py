"""The portal's components page: the API's component list with its filters, scoped and
counted as the API counts it."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from tests.central.portal.test_portal import logged_in

from stockade.model.image import Component, Image, ImageName, Severity, Vulnerability

pytestmark = pytest.mark.integration

ROW = re.compile(
    r"<tr><td><a [^>]*>([^<]+)</a></td><td>([^<]*)</td><td>([^<]*)</td>"
    r"<td class=\"num\">(\d+)</td></tr>"
)


def _image(n: int, comps: tuple[Component, ...]) -> Image:
    return Image(
        name=ImageName.parse(f"quay.io/acme/svc{n}:1"),
        id="sha256:" + f"{n:064x}",
        components=comps,
        scanned=dt.datetime.now(dt.UTC),
    )


async def test_components_page_filters_like_the_api(central) -> None:
    xz = Component(
        "xz-utils",
        "5.6.0",
        "dpkg",
        "",
        0,
        (Vulnerability("CVE-2024-3094", cvss=10.0, severity=Severity.CRITICAL, fixed_by="5.6.1"),),
    )
    zlib = Component("zlib1g", "1.2.13", "dpkg", "", 0)
    requests = Component(
        "requests",
        "2.25.0",
        "pypi",
        "",
        1,
        (Vulnerability("CVE-2023-32681", cvss=6.1, severity=Severity.MODERATE),),
    )
    store = central.central.images
    await store.save_scan(_image(1, (xz, zlib, requests)))
    await store.save_scan(_image(2, (xz, zlib)))
    await store.save_scan(_image(3, (zlib,)))

    b = await logged_in(central)
    page = await b.get("/main/vulnerabilities/components")
    assert page.status_code == 200
    rows = ROW.findall(page.text)
    assert rows == [
        ("zlib1g", "1.2.13", "dpkg", "3"),
        ("xz-utils", "5.6.0", "dpkg", "2"),
        ("requests", "2.25.0", "pypi", "1"),
    ]
    page = await b.get("/main/vulnerabilities/components?fixable=true&source=dpkg")
    assert ROW.findall(page.text) == [("xz-utils", "5.6.0", "dpkg", "2")]
    page = await b.get("/main/vulnerabilities/components?cve=CVE-2023-32681")
    assert ROW.findall(page.text) == [("requests", "2.25.0", "pypi", "1")]
    api = await central.admin("GET", "/v1/components?query=Component%20Source:pypi")
    assert api.status_code == 200, api.text
    assert [c["name"] for c in api.json()["components"]] == ["requests"]
    # a query the API refuses is shown beside the field, with nothing listed
    page = await b.get("/main/vulnerabilities/components?query=Bogus Field:1")
    assert page.status_code == 400 and 'id="query-error"' in page.text
    assert ROW.findall(page.text) == []
    # a component links to exactly the images holding it
    page = await b.get("/main/vulnerabilities/components")
    link = re.search(r'href="(/main/vulnerabilities/images\?query=[^"]+)">xz-utils', page.text)
    assert link is not None
    images = await b.get(link.group(1).replace("&amp;", "&"))
    assert 'data-count="2"' in images.text
    assert "svc1:1" in images.text and "svc2:1" in images.text and "svc3:1" not in images.text

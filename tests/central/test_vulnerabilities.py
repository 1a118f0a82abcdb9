"""Images, components and CVEs stored by Central and queried through vulnerability
management: filters, sorting, first-seen times across rescans, and access scope through the
deployments that use an image."""

from __future__ import annotations

import asyncio
import datetime as dt

import psycopg
import pytest

from stockade.model.image import Component, Image, ImageName, Severity, Vulnerability

pytestmark = pytest.mark.integration

D1 = "sha256:" + "1" * 64
D2 = "sha256:" + "2" * 64


def image(digest: str, name: str, comps: list[Component]) -> Image:
    return Image(
        name=ImageName.parse(name),
        id=digest,
        os="debian:12",
        components=tuple(comps),
        scanned=dt.datetime.now(dt.UTC),
    )


LOG4J = Component(
    "log4j-core",
    "2.14.1",
    "java",
    "/app/lib/log4j-core-2.14.1.jar",
    1,
    (
        Vulnerability(
            "CVE-2021-44228",
            cvss=10.0,
            severity=Severity.CRITICAL,
            fixed_by="2.15.0",
            kev=True,
            epss=0.97,
        ),
        Vulnerability("CVE-2021-45046", cvss=9.0, severity=Severity.CRITICAL, fixed_by="2.16.0"),
    ),
)
OPENSSL = Component(
    "openssl",
    "3.0.11-1",
    "dpkg",
    "var/lib/dpkg/status",
    0,
    (Vulnerability("CVE-2023-5678", cvss=5.3, severity=Severity.MODERATE),),
)
ZLIB = Component("zlib1g", "1:1.2.13", "dpkg", "var/lib/dpkg/status", 0)


async def seed(central, seed_inventory) -> dict[str, str]:
    ids = seed_inventory(
        central.db_url,
        {
            "prod": {
                "namespaces": {"shop": {"deployments": ["web"]}, "ops": {"deployments": ["job"]}}
            },
        },
    )
    store = central.central.images
    await store.save_scan(image(D1, "quay.io/acme/web:1.0", [LOG4J, OPENSSL, ZLIB]))
    await store.save_scan(image(D2, "quay.io/acme/job:2.0", [OPENSSL, ZLIB]))
    with psycopg.connect(central.db_url) as conn:
        conn.execute(
            "INSERT INTO deployment_images (deployment_id, container, image_name, image_id)"
            " VALUES (%s, 'web', 'quay.io/acme/web:1.0', %s), (%s, 'job', 'quay.io/acme/job:2.0', %s)",
            (ids["prod/shop/web"], D1, ids["prod/ops/job"], D2),
        )
    return ids


async def test_filters_sorting_and_detail(central, seed_inventory) -> None:
    await seed(central, seed_inventory)
    r = await central.admin(
        "GET",
        "/v1/cves?query=Severity:CRITICAL%2BFixable:true"
        "&pagination.sortOption.field=CVSS&pagination.sortOption.reversed=true",
    )
    assert r.status_code == 200, r.text
    assert [c["cve"] for c in r.json()["cves"]] == ["CVE-2021-44228", "CVE-2021-45046"]
    r = await central.admin("GET", "/v1/cves?query=KEV:true")
    (kev,) = r.json()["cves"]
    assert kev["cve"] == "CVE-2021-44228" and kev["epss"] == pytest.approx(0.97)
    r = await central.admin("GET", "/v1/cves?query=CVSS:%3C6&pagination.sortOption.field=Images")
    assert r.json()["cves"] == [
        {**r.json()["cves"][0], "cve": "CVE-2023-5678", "affectedImages": 2}
    ]
    r = await central.admin("GET", "/v1/images?query=Fixable%20CVE%20Count:%3E0")
    assert [i["name"] for i in r.json()["images"]] == ["quay.io/acme/web:1.0"]
    r = await central.admin("GET", "/v1/images?query=Namespace:ops")
    assert [i["name"] for i in r.json()["images"]] == ["quay.io/acme/job:2.0"]
    r = await central.admin("GET", "/v1/components?query=CVE:CVE-2023-5678")
    assert r.json()["components"] == [
        {"name": "openssl", "version": "3.0.11-1", "source": "dpkg", "affectedImages": 2}
    ]
    detail = (await central.admin("GET", "/v1/cves/CVE-2023-5678")).json()
    assert sorted(i["name"] for i in detail["images"]) == [
        "quay.io/acme/job:2.0",
        "quay.io/acme/web:1.0",
    ]
    assert sorted(d["name"] for d in detail["deployments"]) == ["job", "web"]
    img = (await central.admin("GET", f"/v1/images/{D1}")).json()
    assert img["cves"] == 3 and img["fixableCves"] == 2
    assert {c["name"] for c in img["components"]} == {"log4j-core", "openssl", "zlib1g"}


async def test_scope_limits_vulnerability_data_to_images_in_use(central, seed_inventory) -> None:
    await seed(central, seed_inventory)
    r = await central.admin(
        "POST",
        "/v1/simpleaccessscopes",
        json={
            "name": "ops",
            "rules": {"includedNamespaces": [{"clusterName": "prod", "namespaceName": "ops"}]},
        },
    )
    await central.admin(
        "POST",
        "/v1/roles/ops",
        json={
            "permissionSetId": "io.stockade.permissionset.analyst",
            "accessScopeId": r.json()["id"],
        },
    )
    ops = await central.token_for("ops")
    r = await central.as_token(ops, "GET", "/v1/images")
    assert [i["name"] for i in r.json()["images"]] == ["quay.io/acme/job:2.0"]
    r = await central.as_token(ops, "GET", "/v1/cves")
    assert [c["cve"] for c in r.json()["cves"]] == ["CVE-2023-5678"]
    assert r.json()["totalCount"] == 1
    assert (await central.as_token(ops, "GET", "/v1/cves/CVE-2021-44228")).status_code == 404
    assert (await central.as_token(ops, "GET", f"/v1/images/{D1}")).status_code == 404
    detail = (await central.as_token(ops, "GET", "/v1/cves/CVE-2023-5678")).json()
    assert [i["name"] for i in detail["images"]] == ["quay.io/acme/job:2.0"]
    assert [d["name"] for d in detail["deployments"]] == ["job"]


async def test_first_seen_survives_rescan_and_failure_keeps_last_result(central) -> None:
    store = central.central.images
    await store.save_scan(image(D1, "quay.io/acme/web:1.0", [LOG4J]))
    with psycopg.connect(central.db_url) as conn:
        conn.execute("UPDATE image_cves SET first_seen_image = '2020-01-01T00:00:00Z'")
        conn.execute("UPDATE cves SET first_seen_system = '2020-01-01T00:00:00Z'")
    await asyncio.sleep(0.01)
    # rescan: the components moved, a CVE was added; then the same scan again
    await store.save_scan(image(D1, "quay.io/acme/web:1.0", [ZLIB, LOG4J, OPENSSL]))
    await store.save_scan(image(D1, "quay.io/acme/web:1.0", [ZLIB, LOG4J, OPENSSL]))
    loaded = await store.load(D1)
    log4j = next(c for c in loaded.components if c.name == "log4j-core")
    assert {v.first_seen_in_image.year for v in log4j.vulnerabilities} == {2020}
    assert {v.first_seen_in_system.year for v in log4j.vulnerabilities} == {2020}
    openssl = next(c for c in loaded.components if c.name == "openssl")
    assert openssl.vulnerabilities[0].first_seen_in_image.year >= 2026
    await store.record_failure(ImageName.parse("quay.io/acme/web:1.0"), "registry refused")
    r = await central.admin("GET", f"/v1/images/{D1}")
    body = r.json()
    assert body["scanState"] == "FAILED" and body["scanError"] == "registry refused"
    assert body["cves"] == 3  # the last good result stays (log4j 2 + openssl 1)

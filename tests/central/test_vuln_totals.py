"""Vulnerability totals kept at write time (store/vuln_totals.py): after every kind of change
to findings they equal a recount from the findings themselves, and ``/v1/cves`` answers from
them exactly what grouping the findings answers."""

from __future__ import annotations

import asyncio
import datetime as dt
import random

import psycopg
import pytest

from stockade.central.api.vulnerabilities import top_critical_fixable_images
from stockade.central.auth.identity import Identity
from stockade.central.auth.model import ADMIN_ROLE, RoleSet
from stockade.central.maintenance import Retention, prune
from stockade.central.store.exceptions import ImageScope
from stockade.model.image import Component, Image, ImageName, Severity, Vulnerability

pytestmark = pytest.mark.integration

SEVERITIES = (Severity.LOW, Severity.MODERATE, Severity.IMPORTANT, Severity.CRITICAL)
CVSS = {Severity.LOW: 3.1, Severity.MODERATE: 5.3, Severity.IMPORTANT: 7.5, Severity.CRITICAL: 9.8}
CVES = [f"CVE-2024-{1000 + n}" for n in range(30)]

# a recount of what the totals hold, written independently of the module under test
RECOUNT_BUCKETS = """
SELECT cve_id, severity, cvss, fixable, count(*)::int AS images FROM (
    SELECT f.image_id, f.cve_id,
           (ARRAY['UNKNOWN','LOW','MODERATE','IMPORTANT','CRITICAL'])[1 + max(
               CASE f.severity WHEN 'CRITICAL' THEN 4 WHEN 'IMPORTANT' THEN 3
               WHEN 'MODERATE' THEN 2 WHEN 'LOW' THEN 1 ELSE 0 END)] AS severity,
           max(f.cvss) AS cvss, bool_or(f.fixable) AS fixable
    FROM image_cves f WHERE f.state = 'OBSERVED' GROUP BY f.image_id, f.cve_id) r
GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
"""
KEPT_BUCKETS = (
    "SELECT cve_id, severity, cvss, fixable, images FROM cve_image_buckets WHERE images <> 0"
    " ORDER BY 1, 2, 3, 4"
)
RECOUNT_CRITICAL_FIXABLE = """
SELECT i.id, count(DISTINCT f.cve_id) FILTER (WHERE r.fixable AND r.rank = 4)::int
FROM images i LEFT JOIN image_cves f ON f.image_id = i.id
LEFT JOIN (SELECT image_id, cve_id, bool_or(fixable) AS fixable,
                  max(CASE severity WHEN 'CRITICAL' THEN 4 WHEN 'IMPORTANT' THEN 3
                      WHEN 'MODERATE' THEN 2 WHEN 'LOW' THEN 1 ELSE 0 END) AS rank
           FROM image_cves WHERE state = 'OBSERVED' GROUP BY 1, 2) r
  ON r.image_id = f.image_id AND r.cve_id = f.cve_id
GROUP BY i.id ORDER BY i.id
"""


def random_image(rng: random.Random, n: int) -> Image:
    comps = []
    for c in range(rng.randint(1, 4)):
        vulns = []
        for cve in rng.sample(CVES, rng.randint(0, 6)):
            sev = SEVERITIES[CVES.index(cve) % 4]  # a CVE's severity, as feeds give it
            fixed = rng.choice(["", "", "9.9"])
            vulns.append(Vulnerability(cve, cvss=CVSS[sev], severity=sev, fixed_by=fixed))
        comps.append(Component(f"lib{c}", f"1.{rng.randint(0, 3)}", "dpkg", "", 0, tuple(vulns)))
    return Image(
        name=ImageName.parse(f"quay.io/acme/app{n}:1"),
        id="sha256:" + f"{n:064x}",
        components=tuple(comps),
        scanned=dt.datetime.now(dt.UTC),
    )


def assert_totals_match_findings(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        assert conn.execute(KEPT_BUCKETS).fetchall() == conn.execute(RECOUNT_BUCKETS).fetchall()
        kept = conn.execute("SELECT id, fixable_sev_counts[5] FROM images ORDER BY id").fetchall()
        assert kept == conn.execute(RECOUNT_CRITICAL_FIXABLE).fetchall()


async def cves_both_ways(central, query: str) -> tuple[list, list]:
    """/v1/cves answered from the totals (admin, CVE-level query) and by grouping findings
    (the same query with a term that matches every image, which the totals cannot answer)."""
    params = {"pagination.limit": "1000", "pagination.sortOption.field": "Images"}
    fast = await central.admin("GET", "/v1/cves", params={**params, "query": query})
    slow_q = "+".join(x for x in (query, "Image:r/.*") if x)
    slow = await central.admin("GET", "/v1/cves", params={**params, "query": slow_q})
    assert fast.status_code == 200 and slow.status_code == 200, (fast.text, slow.text)
    key = lambda d: d["cve"]  # noqa: E731
    return sorted(fast.json()["cves"], key=key), sorted(slow.json()["cves"], key=key)


async def test_totals_follow_scans_rescans_exceptions_and_pruning(central) -> None:
    rng = random.Random(7)
    store = central.central.images
    for n in range(12):
        await store.save_scan(random_image(rng, n))
    assert_totals_match_findings(central.db_url)
    for n in rng.sample(range(12), 6):  # rescans replace findings
        await store.save_scan(random_image(rng, n))
    assert_totals_match_findings(central.db_url)

    exceptions = central.central.exceptions
    deferred = await exceptions.request(
        target_state="DEFERRED",
        cves=CVES[:5],
        scope=ImageScope(),
        requester="alice",
        comment="vendor fix next sprint",
    )
    await exceptions.decide(deferred["id"], approve=True, approver="bob", comment="ok")
    scoped = await exceptions.request(
        target_state="FALSE_POSITIVE",
        cves=CVES[5:9],
        scope=ImageScope(registry="quay.io", remote="acme/app3", tag=".*"),
        requester="alice",
        comment="not reachable",
    )
    await exceptions.decide(scoped["id"], approve=True, approver="bob", comment="ok")
    assert_totals_match_findings(central.db_url)
    await store.save_scan(random_image(rng, 3))  # a rescan under an approved exception
    assert_totals_match_findings(central.db_url)
    await exceptions.cancel(deferred["id"], "alice")
    assert_totals_match_findings(central.db_url)

    with psycopg.connect(central.db_url) as conn:
        conn.execute("UPDATE images SET last_updated = now() - interval '30 days'")
    counts = await prune(central.central.db, Retention())
    assert counts["unused_images"] == 12
    assert_totals_match_findings(central.db_url)
    with psycopg.connect(central.db_url) as conn:
        assert conn.execute("SELECT count(*) FROM cve_image_buckets").fetchone() == (0,)


async def test_cve_list_from_totals_equals_grouping_the_findings(central) -> None:
    rng = random.Random(11)
    for n in range(10):
        await central.central.images.save_scan(random_image(rng, n))
    for query in ("", "Fixable:true", "CVSS:>=7", "CVE:CVE-2024-1003,CVE-2024-1004"):
        fast, slow = await cves_both_ways(central, query)
        assert fast and fast == slow, query
    # sorted by images with a page: the same first page
    r = await central.admin(
        "GET",
        "/v1/cves",
        params={
            "pagination.limit": "3",
            "pagination.sortOption.field": "Images",
            "pagination.sortOption.reversed": "true",
        },
    )
    body = r.json()
    with psycopg.connect(central.db_url) as conn:
        top = conn.execute(
            "SELECT count(DISTINCT image_id) FROM image_cves WHERE state = 'OBSERVED'"
            " GROUP BY cve_id ORDER BY 1 DESC LIMIT 3"
        ).fetchall()
        total = conn.execute(
            "SELECT count(DISTINCT cve_id) FROM image_cves WHERE state = 'OBSERVED'"
        ).fetchone()
    assert [c["affectedImages"] for c in body["cves"]] == [n for (n,) in top]
    assert body["totalCount"] == total[0]


async def test_a_cve_at_two_severities_in_one_image_counts_at_its_highest(central) -> None:
    both = Image(
        name=ImageName.parse("quay.io/acme/mixed:1"),
        id="sha256:" + "a" * 64,
        components=(
            Component(
                "libssl3",
                "3.0",
                "dpkg",
                "",
                0,
                (Vulnerability("CVE-2024-9", cvss=9.8, severity=Severity.CRITICAL),),
            ),
            Component(
                "openssl-py",
                "3.0",
                "pypi",
                "",
                1,
                (
                    Vulnerability(
                        "CVE-2024-9", cvss=5.3, severity=Severity.MODERATE, fixed_by="3.1"
                    ),
                ),
            ),
        ),
        scanned=dt.datetime.now(dt.UTC),
    )
    await central.central.images.save_scan(both)
    r = await central.admin("GET", "/v1/cves", params={"query": "Severity:CRITICAL+Fixable:true"})
    [cve] = r.json()["cves"]
    assert (cve["cve"], cve["affectedImages"], cve["severity"], cve["fixable"]) == (
        "CVE-2024-9",
        1,
        "CRITICAL",
        True,
    )
    r = await central.admin("GET", "/v1/cves", params={"query": "Severity:MODERATE"})
    assert r.json()["cves"] == []  # the image holds it at CRITICAL


async def test_concurrent_scans_and_decisions_keep_totals_exact(central) -> None:
    rng = random.Random(3)
    store = central.central.images
    exceptions = central.central.exceptions
    pending = [
        await exceptions.request(
            target_state="DEFERRED",
            cves=CVES[k : k + 3],
            scope=ImageScope(),
            requester="alice",
            comment="later",
        )
        for k in (0, 10, 20)
    ]
    images = [random_image(rng, n % 6) for n in range(18)]  # the same six images, rescanned
    await asyncio.gather(
        *(store.save_scan(img) for img in images),
        *(exceptions.decide(e["id"], approve=True, approver="bob", comment="ok") for e in pending),
    )
    assert_totals_match_findings(central.db_url)


async def test_dashboard_top_images_use_the_kept_counts(central, seed_inventory) -> None:
    rng = random.Random(5)
    for n in range(24):
        await central.central.images.save_scan(random_image(rng, n))
    c = central.central
    admin = Identity(
        "admin", "admin", "basic", "test", RoleSet(await c.access.resolve([ADMIN_ROLE]))
    )
    fast = await top_critical_fixable_images(c, admin, 3)
    with psycopg.connect(central.db_url) as conn:
        recount = [r for r in conn.execute(RECOUNT_CRITICAL_FIXABLE).fetchall() if r[1] > 0]
    expected = sorted(recount, key=lambda r: (-r[1], r[0]))[:3]
    assert expected and [(r["id"], r["n"]) for r in fast] == expected
    # a scoped caller reads the same counts for the images used in its namespace only
    ids = seed_inventory(central.db_url, {"c": {"namespaces": {"n": {"deployments": ["d"]}}}})
    visible = recount[:-1]  # the last one is used nowhere in the scope
    assert len(visible) >= 2
    with psycopg.connect(central.db_url) as conn:
        for n, (image_id, _) in enumerate(visible):
            conn.execute(
                "INSERT INTO deployment_images VALUES (%s, %s, 'x', %s)",
                (ids["c/n/d"], f"c{n}", image_id),
            )
    scope = await central.admin(
        "POST",
        "/v1/simpleaccessscopes",
        json={
            "name": "n-only",
            "rules": {"includedNamespaces": [{"clusterName": "c", "namespaceName": "n"}]},
        },
    )
    assert scope.status_code == 200, scope.text
    role = await central.admin(
        "POST",
        "/v1/roles/n-analyst",
        json={
            "name": "n-analyst",
            "permissionSetId": "io.stockade.permissionset.analyst",
            "accessScopeId": scope.json()["id"],
        },
    )
    assert role.status_code == 200, role.text
    scoped = Identity("t", "t", "token", "test", RoleSet(await c.access.resolve(["n-analyst"])))
    scoped_top = await top_critical_fixable_images(c, scoped, 3)
    assert [(r["id"], r["n"]) for r in scoped_top] == sorted(visible, key=lambda r: (-r[1], r[0]))[
        :3
    ]


async def test_component_counts_take_each_image_once(central) -> None:
    """Two copies of one jar in an image count the image once, with or without the fixable
    filter (fixable when either copy is), and a CVE only the second copy carries still finds
    the image."""
    fixed = Vulnerability("CVE-2022-1", cvss=7.5, severity=Severity.IMPORTANT, fixed_by="2.0")
    late = Vulnerability("CVE-2022-2", cvss=5.3, severity=Severity.MODERATE)

    def jar(where: str, *vulns: Vulnerability) -> Component:
        return Component("jackson-databind", "1.0", "java", where, 1, vulns)

    images = [
        Image(
            name=ImageName.parse("quay.io/acme/two-copies:1"),
            id="sha256:" + "b" * 64,
            components=(jar("/app/a.jar"), jar("/app/lib/b.jar", fixed, late)),
            scanned=dt.datetime.now(dt.UTC),
        ),
        Image(
            name=ImageName.parse("quay.io/acme/one-copy:1"),
            id="sha256:" + "c" * 64,
            components=(jar("/app/a.jar"),),
            scanned=dt.datetime.now(dt.UTC),
        ),
    ]
    for img in images:
        await central.central.images.save_scan(img)

    async def images_for(query: str) -> int | None:
        r = await central.admin("GET", f"/v1/components?query={query}")
        assert r.status_code == 200, r.text
        rows = [c for c in r.json()["components"] if c["name"] == "jackson-databind"]
        return rows[0]["affectedImages"] if rows else None

    assert await images_for("") == 2
    assert await images_for("Fixable:true") == 1
    assert await images_for("CVE:CVE-2022-2") == 1
    assert await images_for("Image:quay.io/acme/one") == 1


async def test_grouped_totals_on_every_page_and_past_the_end(central) -> None:
    rng = random.Random(13)
    for n in range(6):
        await central.central.images.save_scan(random_image(rng, n))
    with psycopg.connect(central.db_url) as conn:
        (cves,) = conn.execute("SELECT count(DISTINCT cve_id) FROM image_cves").fetchone()
    for query in ("", "Image:r/.*"):  # from the totals, and grouping the findings
        for offset in (0, 5, cves - 1, cves, cves + 10):
            r = await central.admin(
                "GET",
                "/v1/cves",
                params={"query": query, "pagination.limit": "5", "pagination.offset": str(offset)},
            )
            body = r.json()
            assert body["totalCount"] == cves, (query, offset)
            assert len(body["cves"]) == max(0, min(5, cves - offset))


async def test_a_cve_in_two_components_counts_its_image_once_for_every_query(
    central, seed_inventory
) -> None:
    """Grouping the findings counts each image's first finding of a CVE when the query can
    only keep all of an image's findings of it or none, and counts distinct images when it
    can keep a later one alone (a component or severity filter)."""

    def comp(name: str, idx_sev: Severity, fixed: str = "") -> Component:
        vuln = Vulnerability("CVE-2024-77", cvss=CVSS[idx_sev], severity=idx_sev, fixed_by=fixed)
        return Component(name, "1.0", "dpkg", "", 0, (vuln,))

    img = Image(
        name=ImageName.parse("quay.io/acme/twice:1"),
        id="sha256:" + "d" * 64,
        components=(comp("libfoo", Severity.LOW), comp("libbar", Severity.CRITICAL, "1.1")),
        scanned=dt.datetime.now(dt.UTC),
    )
    await central.central.images.save_scan(img)
    with psycopg.connect(central.db_url) as conn:
        rows = conn.execute(
            "SELECT component_idx, first_in_image FROM image_cves ORDER BY component_idx"
        ).fetchall()
    assert rows == [(0, True), (1, False)]
    for query in (
        "Image:r/.*",
        "Image:r/.*+Component:libbar",
        "Image:r/.*+Severity:CRITICAL",
        "Image:r/.*+Fixable:true",
        "Component:libfoo",
    ):
        r = await central.admin("GET", "/v1/cves", params={"query": query})
        assert [(c["cve"], c["affectedImages"]) for c in r.json()["cves"]] == [
            ("CVE-2024-77", 1)
        ], query

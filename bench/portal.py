"""Portal page latency on the server with a large vulnerability inventory.

    .venv/bin/python bench/portal.py [--images 10000] [--cves-per-image 100] [--rounds 20]

Creates a database on the machine's PostgreSQL, starts Central in this process on it,
seeds (straight in SQL, as a scan would leave it) N images with 20 components each,
N x cves-per-image image-CVE rows over 20,000 CVEs, one deployment per image and an active
violation per deployment; logs in through the portal's form and requests each page
``rounds`` times through the ASGI app (server time, no network), as the admin and then as
analysts signed in with API tokens scoped to 25 namespaces and to one. Prints p50/p95/max per
page and whether p95 <= 500 ms. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import re
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import psycopg

from stockade.central.app import create_app
from stockade.central.config import load_config
from stockade.central.runtime import Central
from stockade.central.store import vuln_totals

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
TARGET_MS = 500.0

SEED = """
INSERT INTO clusters (id, name) VALUES ('00000000-0000-0000-0000-000000000001', 'bench');
INSERT INTO namespaces (id, cluster_id, name)
  SELECT gen_random_uuid(), '00000000-0000-0000-0000-000000000001', 'ns' || n
  FROM generate_series(0, 49) n;
INSERT INTO cves (id, severity, cvss, epss, kev, published)
  SELECT 'CVE-2020-' || (100000 + n),
         (ARRAY['CRITICAL','IMPORTANT','MODERATE','LOW'])[1 + n % 4],
         (ARRAY[9.8,7.5,5.3,3.1])[1 + n % 4], (n % 1000) / 1000.0, n % 97 = 0,
         now() - (n || ' hours')::interval
  FROM generate_series(0, 19999) n;
INSERT INTO images (id, name, registry, remote, tag, os, scanned_at, components_count,
                    cves_count, fixable_cves_count, top_cvss)
  SELECT 'sha256:' || lpad(to_hex(n), 64, '0'), 'quay.io/bench/svc' || n || ':1.0',
         'quay.io', 'bench/svc' || n, '1.0', 'debian:12', now(), 20, %(per)s, %(per)s / 3, 9.8
  FROM generate_series(0, %(images)s - 1) n;
INSERT INTO image_components (image_id, idx, name, version, source, location, layer_index)
  SELECT 'sha256:' || lpad(to_hex(n), 64, '0'), c, 'lib' || ((n + c) % 500), '1.' || c,
         'dpkg', 'var/lib/dpkg/status', c % 4
  FROM generate_series(0, %(images)s - 1) n, generate_series(0, 19) c;
INSERT INTO image_cves (image_id, component_idx, cve_id, severity, cvss, fixed_by, fixable)
  SELECT 'sha256:' || lpad(to_hex(n), 64, '0'), k % 20,
         'CVE-2020-' || (100000 + (n * 37 + k * 211) % 20000),
         (ARRAY['CRITICAL','IMPORTANT','MODERATE','LOW'])[1 + ((n * 37 + k * 211) % 20000) % 4],
         (ARRAY[9.8,7.5,5.3,3.1])[1 + ((n * 37 + k * 211) % 20000) % 4],
         CASE WHEN k % 3 = 0 THEN '9.9' ELSE '' END, k % 3 = 0
  FROM generate_series(0, %(images)s - 1) n, generate_series(0, %(per)s - 1) k
  ON CONFLICT DO NOTHING;
INSERT INTO deployments (id, cluster_id, namespace, name)
  SELECT ('00000000-0000-0000-0001-' || lpad(to_hex(n), 12, '0'))::uuid,
         '00000000-0000-0000-0000-000000000001', 'ns' || (n % 50), 'app' || n
  FROM generate_series(0, %(images)s - 1) n;
INSERT INTO deployment_images (deployment_id, container, image_name, image_id)
  SELECT ('00000000-0000-0000-0001-' || lpad(to_hex(n), 12, '0'))::uuid, 'main',
         'quay.io/bench/svc' || n || ':1.0', 'sha256:' || lpad(to_hex(n), 64, '0')
  FROM generate_series(0, %(images)s - 1) n;
"""

ALERTS = """
INSERT INTO alerts (id, policy_id, policy_name, severity, categories, lifecycle_stage, state,
                    policy, violations, cluster_id, cluster_name, namespace, deployment_id,
                    deployment_name, first_occurred, updated_at)
  SELECT gen_random_uuid(), p.id, p.name, p.severity, p.categories, 'DEPLOY', 'ACTIVE', p.doc,
         '[{"message": "seeded"}]', d.cluster_id, 'bench', d.namespace, d.id, d.name, now(),
         now()
  FROM deployments d
  CROSS JOIN LATERAL (SELECT * FROM policies ORDER BY id OFFSET (abs(hashtext(d.name)) % 5)
                      LIMIT 1) p;
ANALYZE;
"""


def _basic(user: str, password: str) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode()


# Scoped identities group their own findings (the kept totals serve callers who see every
# image): timed for a wide scope (half the namespaces, 5,000 images) and a narrow one.
SCOPED = {"25 namespaces": [f"ns{n}" for n in range(25)], "1 namespace": ["ns7"]}
SCOPED_PAGES = {
    "dashboard": "/main/dashboard",
    "violations": "/main/violations",
    "cves": "/main/vulnerabilities",
    "cves critical fixable": "/main/vulnerabilities?severity=CRITICAL&fixable=true",
    "images": "/main/vulnerabilities/images",
    "components": "/main/vulnerabilities/components",
}


async def time_pages(
    client: httpx.AsyncClient, pages: dict[str, str], rounds: int
) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    for label, path in pages.items():
        times = out[label] = []
        for _ in range(rounds):
            t0 = time.perf_counter()
            resp = await client.get(path)
            times.append((time.perf_counter() - t0) * 1000)
            assert resp.status_code == 200, (path, resp.status_code, resp.text[:300])
    return out


def timed(results: dict[str, list[float]], who: str) -> None:
    print(f"\n{who}")
    print(f"{'page':24} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}  <= {TARGET_MS:.0f} ms")
    for label, times in results.items():
        p95 = pct(times, 0.95)
        print(
            f"{label:24} {statistics.median(times):8.1f} {p95:8.1f} {max(times):8.1f}"
            f"  {'yes' if p95 <= TARGET_MS else 'NO'}"
        )


async def token_session(
    admin: httpx.AsyncClient,
    browser: httpx.AsyncClient,
    auth: dict[str, str],
    label: str,
    namespaces: list[str],
) -> None:
    """A role with the Analyst permission set limited to ``namespaces``, a token for it, and a
    portal session signed in with that token."""
    name = f"bench {label}"
    rules = {
        "includedNamespaces": [{"clusterName": "bench", "namespaceName": n} for n in namespaces]
    }
    scope = await admin.post(
        "/v1/simpleaccessscopes", headers=auth, json={"name": name, "rules": rules}
    )
    assert scope.status_code == 200, scope.text
    role = await admin.post(
        f"/v1/roles/{name}",
        headers=auth,
        json={
            "name": name,
            "permissionSetId": "io.stockade.permissionset.analyst",
            "accessScopeId": scope.json()["id"],
        },
    )
    assert role.status_code == 200, role.text
    tok = await admin.post(
        "/v1/apitokens/generate", headers=auth, json={"name": name, "role": name}
    )
    assert tok.status_code == 200, tok.text
    login = await browser.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', login.text)
    assert csrf is not None
    r = await browser.post(
        "/login/token", data={"csrf_token": csrf.group(1), "api_token": tok.json()["token"]}
    )
    assert r.status_code == 303, r.text


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def run(args: argparse.Namespace, db_url: str, data_dir: Path) -> None:
    central = await Central.start(
        load_config({"data_dir": data_dir, "db_url": db_url, "tls": False}, environ={})
    )
    try:
        started = time.perf_counter()
        with psycopg.connect(db_url, autocommit=True) as conn:
            # integers from argparse, written into the statements (they hold % operators)
            seed = SEED.replace("%(images)s", str(int(args.images))).replace(
                "%(per)s", str(int(args.cves_per_image))
            )
            for statement in filter(str.strip, seed.split(";\n")):
                conn.execute(statement)
            for statement in filter(str.strip, ALERTS.split(";\n")):
                conn.execute(statement)
            rows = conn.execute("SELECT count(*) FROM image_cves").fetchone()
        async with central.db.connection() as aconn:  # the totals a scan would have kept
            await vuln_totals.rebuild_all(aconn)
        with psycopg.connect(db_url, autocommit=True) as conn:
            conn.execute("ANALYZE")
        print(
            f"seeded {args.images} images, {rows[0] if rows else 0} image-CVE rows "
            f"in {time.perf_counter() - started:.0f} s"
        )
        app = create_app(central)
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="https://portal") as client:
            login = await client.get("/login")
            token = re.search(r'name="csrf_token" value="([^"]+)"', login.text)
            assert token is not None
            password = (data_dir / "admin-password").read_text().strip()
            r = await client.post(
                "/login",
                data={"csrf_token": token.group(1), "username": "admin", "password": password},
            )
            assert r.status_code == 303, r.text
            digest = "sha256:" + f"{7:064x}"
            alerts = await client.get(
                "/v1/alerts?pagination.limit=1",
                headers={"Authorization": "Basic " + _basic("admin", password)},
            )
            alert_id = alerts.json()["alerts"][0]["id"]
            pages = {
                "dashboard": "/main/dashboard",
                "violations": "/main/violations",
                "violations filtered": "/main/violations?query=Namespace:ns7&severity=LOW_SEVERITY",
                "policies": "/main/policies",
                "cves": "/main/vulnerabilities",
                "cves critical fixable": "/main/vulnerabilities?severity=CRITICAL&fixable=true",
                "cves kev by epss": "/main/vulnerabilities?kev=true&sort=EPSS",
                "cve detail": "/main/vulnerabilities/cves/CVE-2020-100000",
                "images": "/main/vulnerabilities/images",
                "image detail": f"/main/vulnerabilities/images/{digest}",
                "components": "/main/vulnerabilities/components",
                "components fixable": "/main/vulnerabilities/components?fixable=true",
                "violation detail": f"/main/violations/{alert_id}",
                "exceptions": "/main/vulnerabilities/exceptions",
                "integrations": "/main/integrations",
                "access tokens": "/main/access/tokens",
                "access roles": "/main/access/roles",
                "system": "/main/system",
            }
            timed(await time_pages(client, pages, args.rounds), "admin (sees every image)")
            admin_auth = {"Authorization": "Basic " + _basic("admin", password)}
            for label, namespaces in SCOPED.items():
                async with httpx.AsyncClient(
                    transport=transport, base_url="https://portal"
                ) as scoped:
                    await token_session(client, scoped, admin_auth, label, namespaces)
                    results = await time_pages(scoped, SCOPED_PAGES, args.rounds)
                timed(results, f"analyst token scoped to {label}")
    finally:
        await central.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--cves-per-image", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    name = f"stockade_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        with tempfile.TemporaryDirectory() as tmp:
            asyncio.run(run(args, f"{ADMIN_URL.rsplit('/', 1)[0]}/{name}", Path(tmp)))
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            # the Scanner DB Central creates beside its own
            conn.execute(f'DROP DATABASE IF EXISTS "{name}_scanner" WITH (FORCE)')


if __name__ == "__main__":
    main()

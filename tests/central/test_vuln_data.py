"""Single-machine mode: Central loads an offline vulnerability bundle at start, in the
background, and says whether it has vulnerability data."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from stockade.scanner.matcher.bundle import export_bundle
from stockade.scanner.matcher.sources import make_updater
from stockade.scanner.matcher.store import VulnerabilityStore

pytestmark = pytest.mark.integration

ALPINE = Path(__file__).resolve().parents[2] / ".." / "shared" / "vulndata" / "alpine-secdb"


def make_bundle(db_url: str, out: Path) -> int:
    store = VulnerabilityStore(db_url)
    store.migrate()
    run = store.update(make_updater("alpine", offline=ALPINE))
    assert run.status == "updated", run
    export_bundle(store, out)
    return store.count()


async def test_bundle_given_at_start_is_loaded(start_central, make_database, tmp_path) -> None:
    bundle = tmp_path / "vulns.bundle"
    records = await asyncio.to_thread(make_bundle, make_database(), bundle)
    assert records > 0

    empty = await start_central(make_database())
    r = await empty.admin("GET", "/v1/scanner/vulnerability-data")
    assert r.json() == {"status": "NO_VULNERABILITY_DATA", "sources": []}

    c = await start_central(make_database(), vuln_bundle=bundle)
    assert c.central.vuln_data is not None
    await asyncio.wait_for(c.central.vuln_data.wait(), 120)
    r = await c.admin("GET", "/v1/scanner/vulnerability-data")
    body = r.json()
    assert body["status"] == "LOADED"
    assert sum(s["records"] for s in body["sources"]) == records
    assert [s["name"] for s in body["sources"]] == ["alpine"]

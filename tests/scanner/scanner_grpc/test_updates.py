"""The Matcher's scheduled updates from an offline bundle: it starts with no data, says so,
and serves the data once a round has loaded the bundle; a round that fails is reported and the
service keeps answering."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from grpc_health.v1 import health_pb2, health_pb2_grpc

from stockade.scanner.matcher.bundle import export_bundle
from stockade.scanner.matcher.service import DATA_HEALTH, UpdatePlan, run_updates
from stockade.scanner.matcher.sources import make_updater
from stockade.scanner.matcher.store import VulnerabilityStore
from stockade.scanner.v1 import matcher_pb2 as mpb
from stockade.scanner.v1 import matcher_pb2_grpc as mpb_grpc

from .conftest import MatcherHandle, Pki, channel, loaded_store, pypi_subset


async def test_bundle_updates_on_schedule(
    empty_matcher: MatcherHandle,
    certs: Pki,
    make_database: Callable[[], str],
    tmp_path: Path,
) -> None:
    source = loaded_store(make_database(), tmp_path)
    bundle = tmp_path / "vulns.bundle"
    manifest = await asyncio.to_thread(export_bundle, source, bundle, None)
    exported = sum(e.records for e in manifest.sources)
    assert exported > 0

    sleeps: list[float] = []

    async def no_wait(seconds: float) -> None:
        sleeps.append(seconds)

    servicer = empty_matcher.servicer
    async with channel(empty_matcher.port, certs.central) as ch:
        stub = mpb_grpc.MatcherServiceStub(ch)
        health = health_pb2_grpc.HealthStub(ch)
        before = await stub.GetMetadata(mpb.GetMetadataRequest())
        assert before.status_message == "no vulnerability data"

        # a bundle that is not there: the round fails, is reported, nothing else changes
        await run_updates(
            servicer, UpdatePlan(bundle=tmp_path / "missing.bundle"), sleep=no_wait, rounds=1
        )
        failed = await stub.GetMetadata(mpb.GetMetadataRequest())
        assert not failed.has_vulnerability_data and failed.update_errors
        assert "missing.bundle" in failed.update_errors[0]

        plan = UpdatePlan(bundle=bundle, interval=3600.0)
        await run_updates(servicer, plan, sleep=no_wait, rounds=2)
        assert sleeps == [3600.0]  # two rounds, one wait between them
        meta = await stub.GetMetadata(mpb.GetMetadataRequest())
        assert meta.has_vulnerability_data and meta.record_count == exported
        assert [s.name for s in meta.sources] == ["osv-pypi"]
        assert meta.sources[0].HasField("updated_at") and meta.HasField("last_update")
        assert not meta.update_errors
        data = await health.Check(health_pb2.HealthCheckRequest(service=DATA_HEALTH))
        assert data.status == health_pb2.HealthCheckResponse.SERVING
    runs = servicer.store.runs("osv-pypi")
    # the second round found the bundle unchanged and did not reload it
    assert [r.status for r in runs] == ["updated", "unchanged"]


async def test_rounds_without_a_source_pick_up_what_another_process_stored(
    empty_matcher: MatcherHandle, certs: Pki, tmp_path: Path
) -> None:
    servicer = empty_matcher.servicer
    # `stockade scanner update` run against the same Scanner DB
    other = VulnerabilityStore(servicer.store.url)
    run = await asyncio.to_thread(
        other.update, make_updater("osv-pypi", offline=pypi_subset(tmp_path))
    )
    assert run.status == "updated"
    async with channel(empty_matcher.port, certs.central) as ch:
        stub = mpb_grpc.MatcherServiceStub(ch)
        assert not (await stub.GetMetadata(mpb.GetMetadataRequest())).has_vulnerability_data
        await run_updates(servicer, UpdatePlan(), rounds=1)
        meta = await stub.GetMetadata(mpb.GetMetadataRequest())
    assert meta.has_vulnerability_data and meta.record_count == run.records
    assert not meta.HasField("last_update")  # nothing was updated by this Matcher

"""Re-matching after a remote Matcher's data changed: the change is taken as handled only
when every stored image was re-matched, and of several replicas one re-matches at a time.

The Matcher is a stand-in here (its answers are what the test needs); Central, its database
and the advisory lock are real. The gRPC path is covered by test_remote_scanner.py."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading

from stockade.central.scanning import RemoteDataWatcher, ScanService
from stockade.core.errors import StockadeError
from stockade.model.image import Image, ImageName
from stockade.scanner.matcher.store import SourceState

IMAGES = {"sha256:" + "ab" * 32: "quay.io/acme/web:1.0", "sha256:" + "cd" * 32: "quay.io/acme/db:2"}


class StandInMatcher:
    """Answers data_status with one source whose fingerprint the test sets; ``report`` is
    called once per stored image on a re-match and does what ``mode`` says."""

    def __init__(self) -> None:
        self.fingerprint = "a"
        self.mode = "none"  # none: no stored report; refuse: unreachable; crash: a bug
        self.reports: list[str] = []
        self.gate: threading.Event | None = None  # set: report() waits for it

    def data_status(self) -> list[SourceState]:
        return [SourceState("osv-pypi", self.fingerprint, None, 10)]

    def report(self, manifest_digest: str) -> None:
        self.reports.append(manifest_digest)
        if self.gate is not None:
            assert self.gate.wait(timeout=30)
        if self.mode == "refuse":
            raise StockadeError("Matcher at 127.0.0.1:1 cannot be reached")
        if self.mode == "crash":
            raise RuntimeError("boom")
        return None  # no stored report: the image waits for its next scan

    def index(self, *args: object) -> None:
        raise AssertionError("a re-match never indexes")

    def match(self, *args: object) -> None:
        raise AssertionError("no report, nothing to match")


async def _store_images(central) -> None:
    now = dt.datetime.now(dt.UTC)
    for image_id, name in IMAGES.items():
        await central.central.images.save_scan(
            Image(name=ImageName.parse(name), id=image_id, scanned=now)
        )


def _watcher(central, matcher: StandInMatcher) -> RemoteDataWatcher:
    return RemoteDataWatcher(ScanService(matcher, central.central), interval_seconds=3600)


async def test_a_rematch_that_stopped_part_way_runs_again_at_the_next_check(central) -> None:
    await _store_images(central)
    matcher = StandInMatcher()
    watcher = _watcher(central, matcher)
    assert await watcher.check_once() is False  # the baseline
    assert matcher.reports == []

    matcher.fingerprint, matcher.mode = "b", "crash"
    try:
        await watcher.check_once()
        raise AssertionError("the crash must surface")
    except RuntimeError:
        pass
    assert len(matcher.reports) == 1  # stopped at the first image

    matcher.mode = "refuse"  # the Matcher goes away: every image keeps its findings
    assert await watcher.check_once() is False
    assert len(matcher.reports) == 3

    matcher.mode = "none"  # back: the same change is re-matched in full
    assert await watcher.check_once() is True
    assert sorted(matcher.reports[3:]) == sorted(IMAGES)
    assert await watcher.check_once() is False  # handled: nothing more to do
    assert len(matcher.reports) == 5


async def test_one_replica_rematches_while_another_skips(central) -> None:
    await _store_images(central)
    first, second = StandInMatcher(), StandInMatcher()
    one, other = _watcher(central, first), _watcher(central, second)
    assert await one.check_once() is False and await other.check_once() is False
    first.fingerprint = second.fingerprint = "b"
    first.gate = threading.Event()
    running = asyncio.create_task(one.check_once())
    try:
        for _ in range(300):  # until the first replica is inside its re-match
            if first.reports:
                break
            await asyncio.sleep(0.05)
        assert first.reports
        assert await asyncio.wait_for(other.check_once(), timeout=10) is False
        assert second.reports == []  # the lock was taken: this replica did not re-match
    finally:
        first.gate.set()
    assert await asyncio.wait_for(running, timeout=30) is True
    assert await other.check_once() is False  # the change counts as handled here too
    assert second.reports == []

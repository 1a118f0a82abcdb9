"""Failed-login limiting per source address: after ``limit`` failures inside ``window``
seconds a source is refused (429) until the oldest failure leaves the window."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable


class FailureLimiter:
    def __init__(
        self,
        limit: int = 10,
        window: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        max_sources: int = 100_000,
    ) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._max_sources = max_sources

    def _recent(self, source: str) -> deque[float] | None:
        q = self._failures.get(source)
        if q is None:
            return None
        cutoff = self._clock() - self.window
        while q and q[0] <= cutoff:
            q.popleft()
        if not q:
            del self._failures[source]
            return None
        return q

    def blocked(self, source: str) -> bool:
        q = self._recent(source)
        return q is not None and len(q) >= self.limit

    def retry_after(self, source: str) -> int:
        q = self._recent(source)
        if not q:
            return 0
        return max(1, int(q[0] + self.window - self._clock()) + 1)

    def record_failure(self, source: str) -> None:
        if len(self._failures) >= self._max_sources and source not in self._failures:
            # bounded memory under a flood of sources: forget the oldest entry
            self._failures.pop(next(iter(self._failures)))
        self._failures.setdefault(source, deque()).append(self._clock())

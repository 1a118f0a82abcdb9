"""Fixtures shared by every suite.

PostgreSQL: the machine's server at 127.0.0.1:5432 (trust auth) unless STOCKADE_TEST_PG_ADMIN_URL
names another. Each fixture user gets a database of its own, dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator

import psycopg
import pytest
from hypothesis import settings

# Property tests: no per-example deadline (pytest-timeout bounds each test; a loaded CI
# machine must not turn a slow example into a failure). CI runs the same examples every time
# (derandomized), so a landing is judged on a fixed set; developers' runs explore new ones.
settings.register_profile("dev", deadline=None)
settings.register_profile("ci", deadline=None, derandomize=True, print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

ADMIN_URL = os.environ.get(
    "STOCKADE_TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def _base(url: str) -> str:
    return url.rsplit("/", 1)[0]


@pytest.fixture(scope="session")
def pg_admin_url() -> str:
    try:
        with psycopg.connect(ADMIN_URL, connect_timeout=5):
            pass
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL for tests is not reachable at {ADMIN_URL}: {exc}")
    return ADMIN_URL


@pytest.fixture
def make_database(pg_admin_url: str) -> Iterator[Callable[[], str]]:
    """Return a factory: each call creates an empty database and returns its URL."""
    created: list[str] = []

    def make() -> str:
        name = f"stockade_test_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(pg_admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        created.append(name)
        return f"{_base(pg_admin_url)}/{name}"

    yield make
    with psycopg.connect(pg_admin_url, autocommit=True) as conn:
        for name in created:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            # the Scanner DB a Central started on this database creates beside it
            conn.execute(f'DROP DATABASE IF EXISTS "{name}_scanner" WITH (FORCE)')


@pytest.fixture
def database_url(make_database: Callable[[], str]) -> str:
    """A fresh, empty PostgreSQL database for this test."""
    return make_database()

"""Paths shared by the format parser tests."""

from pathlib import Path

HERE = Path(__file__).parent
FIXTURES = HERE / "fixtures"
SHARED = Path(__file__).parents[4] / ".." / "shared"
CLAIRCORE = SHARED / "claircore-testdata"

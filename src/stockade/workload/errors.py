"""Errors reading workload manifests.

StockadeError
└── ManifestError    unreadable, oversized or hostile manifest input (exit code 3)
"""

from __future__ import annotations

from stockade.core.errors import StockadeError


class ManifestError(StockadeError):
    """A manifest could not be read or understood."""

    exit_code = 3

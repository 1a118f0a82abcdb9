"""CVSS vectors to scores, through the ``cvss`` library (v2, v3.x and v4.0)."""

from __future__ import annotations

import logging

from cvss import CVSS2, CVSS3, CVSS4
from cvss.exceptions import CVSSError

from stockade.model.vulnerability import Cvss

logger = logging.getLogger(__name__)


def parse_vector(vector: str, *, source: str = "", score: float | None = None) -> Cvss | None:
    """A ``Cvss`` for a vector string, computing the base score when none is given.

    Returns None (and logs) for a vector the library rejects: one bad score must not drop the
    advisory it belongs to.
    """
    vector = vector.strip()
    if not vector:
        return None
    try:
        if vector.startswith("CVSS:4"):
            v4 = CVSS4(vector)
            return Cvss(
                "4.0",
                v4.clean_vector(),
                score if score is not None else float(v4.base_score),
                source,
            )
        if vector.startswith("CVSS:3"):
            v3 = CVSS3(vector)
            version = "3.1" if vector.startswith("CVSS:3.1") else "3.0"
            return Cvss(
                version,
                v3.clean_vector(),
                score if score is not None else float(v3.base_score),
                source,
            )
        v2 = CVSS2(vector)
        return Cvss(
            "2.0", v2.clean_vector(), score if score is not None else float(v2.base_score), source
        )
    except (CVSSError, ValueError, KeyError, IndexError) as exc:
        logger.warning("ignored CVSS vector %r: %s", vector, exc)
        return None

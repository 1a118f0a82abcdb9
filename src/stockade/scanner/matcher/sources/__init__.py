"""Vulnerability sources: one module each, all behind ``base.Updater``, registered here.

``REGISTRY`` is the one list of every source Stockade knows; ``make_updater`` builds one by
name, online (its real upstream) or offline (reading a file or directory).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

from stockade.scanner.matcher.sources.alpine import AlpineUpdater
from stockade.scanner.matcher.sources.amazon import AmazonUpdater
from stockade.scanner.matcher.sources.base import FeedUpdater, Fetched, Unchanged, Updater
from stockade.scanner.matcher.sources.debian import DebianAdvisoryUpdater, DebianTrackerUpdater
from stockade.scanner.matcher.sources.epss import EpssUpdater
from stockade.scanner.matcher.sources.errors import ConfigSourceError
from stockade.scanner.matcher.sources.kev import KevUpdater
from stockade.scanner.matcher.sources.manual import ManualUpdater
from stockade.scanner.matcher.sources.nodejs import NodejsUpdater
from stockade.scanner.matcher.sources.nvd import NvdUpdater
from stockade.scanner.matcher.sources.oracle import OracleUpdater
from stockade.scanner.matcher.sources.osv import ECOSYSTEMS, OsvUpdater
from stockade.scanner.matcher.sources.photon import PhotonUpdater
from stockade.scanner.matcher.sources.redhat import RedHatVexUpdater
from stockade.scanner.matcher.sources.redhat_repo2cpe import RepoToCpeUpdater
from stockade.scanner.matcher.sources.rubysec import RubySecUpdater
from stockade.scanner.matcher.sources.suse import SuseUpdater
from stockade.scanner.matcher.sources.ubuntu import UbuntuOvalUpdater, UbuntuTrackerUpdater

__all__ = ["REGISTRY", "FeedUpdater", "Fetched", "Unchanged", "Updater", "make_updater", "names"]

Factory = Callable[..., FeedUpdater]

#: every source, by name (the order is the update order)
REGISTRY: dict[str, Factory] = {
    "alpine": AlpineUpdater,
    "debian-tracker": DebianTrackerUpdater,
    "debian-advisories": DebianAdvisoryUpdater,
    "ubuntu-tracker": UbuntuTrackerUpdater,
    "ubuntu-oval": UbuntuOvalUpdater,
    "redhat-vex": RedHatVexUpdater,
    "redhat-repo2cpe": RepoToCpeUpdater,
    "oracle": OracleUpdater,
    "suse": SuseUpdater,
    "photon": PhotonUpdater,
    "amazon": AmazonUpdater,
    **{f"osv-{eco.lower()}": partial(OsvUpdater, eco) for eco in ECOSYSTEMS},
    "nodejs-wg": NodejsUpdater,
    "rubysec": RubySecUpdater,
    "nvd": NvdUpdater,
    "cisa-kev": KevUpdater,
    "epss": EpssUpdater,
    "manual": ManualUpdater,
}


def names() -> list[str]:
    return list(REGISTRY)


def make_updater(name: str, *, offline: Path | None = None, **kwargs: object) -> FeedUpdater:
    """Build the source called ``name``; ``offline`` makes it read that file or directory."""
    try:
        factory = REGISTRY[name]
    except KeyError:
        raise ConfigSourceError(
            f"unknown vulnerability source {name!r} (known: {', '.join(REGISTRY)})"
        ) from None
    return factory(offline=offline, **kwargs)

"""Analysers: one module per package database and language ecosystem, registered here.

``PACKAGE_ANALYSERS`` is the one list of package analysers the engine runs; add a module and
one line to it. Distribution detection and Red Hat content manifests have their own kinds.
"""

from __future__ import annotations

from stockade.model.index_report import Package
from stockade.scanner.indexer.analysers.apk import ApkAnalyser
from stockade.scanner.indexer.analysers.base import Analyser
from stockade.scanner.indexer.analysers.distribution import DistributionDetector
from stockade.scanner.indexer.analysers.dotnet import DotnetAnalyser
from stockade.scanner.indexer.analysers.dpkg import DpkgAnalyser
from stockade.scanner.indexer.analysers.golang import GoAnalyser
from stockade.scanner.indexer.analysers.java import JavaAnalyser
from stockade.scanner.indexer.analysers.npm import NpmAnalyser
from stockade.scanner.indexer.analysers.python import PythonAnalyser
from stockade.scanner.indexer.analysers.redhat import ContentManifestAnalyser
from stockade.scanner.indexer.analysers.rpm import RpmAnalyser
from stockade.scanner.indexer.analysers.ruby import RubyAnalyser
from stockade.scanner.indexer.analysers.rust import RustAnalyser

PACKAGE_ANALYSERS: tuple[Analyser[Package], ...] = (
    DpkgAnalyser(),
    ApkAnalyser(),
    RpmAnalyser(),
    PythonAnalyser(),
    NpmAnalyser(),
    RubyAnalyser(),
    DotnetAnalyser(),
    JavaAnalyser(),
    GoAnalyser(),
    RustAnalyser(),
)
DISTRIBUTION_DETECTOR = DistributionDetector()
CONTENT_MANIFESTS = ContentManifestAnalyser()

__all__ = ["CONTENT_MANIFESTS", "DISTRIBUTION_DETECTOR", "PACKAGE_ANALYSERS"]

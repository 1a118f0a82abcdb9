"""SBOM export of an index report: SPDX 2.3 JSON (spdx-tools) and CycloneDX 1.5 JSON
(cyclonedx-python-lib). Both libraries validate what they write."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime

from cyclonedx.model.bom import Bom
from cyclonedx.model.component import Component, ComponentType
from cyclonedx.output.json import JsonV1Dot5
from packageurl import PackageURL
from spdx_tools.spdx.model.actor import Actor, ActorType
from spdx_tools.spdx.model.document import CreationInfo, Document
from spdx_tools.spdx.model.package import ExternalPackageRef, ExternalPackageRefCategory
from spdx_tools.spdx.model.package import Package as SpdxPackage
from spdx_tools.spdx.model.relationship import Relationship, RelationshipType
from spdx_tools.spdx.model.spdx_no_assertion import SpdxNoAssertion
from spdx_tools.spdx.writer.json.json_writer import write_document_to_stream

from stockade import __version__
from stockade.model.index_report import IndexReport

_SPDX_ID = re.compile(r"[^A-Za-z0-9.-]+")


def _image_name(report: IndexReport) -> str:
    return report.image or report.manifest_digest


def to_spdx(report: IndexReport, now: datetime | None = None) -> str:
    created = (now or datetime.now(UTC)).replace(microsecond=0)
    digest_hex = report.manifest_digest.partition(":")[2]
    info = CreationInfo(
        spdx_version="SPDX-2.3",
        spdx_id="SPDXRef-DOCUMENT",
        name=_image_name(report),
        document_namespace=f"urn:stockade:spdx:{digest_hex}",
        creators=[Actor(ActorType.TOOL, f"stockade-{__version__}")],
        created=created,
    )
    image_id = "SPDXRef-Image"
    packages = [
        SpdxPackage(
            spdx_id=image_id,
            name=_image_name(report),
            download_location=SpdxNoAssertion(),
            version=report.manifest_digest,
            files_analyzed=False,
            primary_package_purpose=None,
        )
    ]
    relationships = [
        Relationship("SPDXRef-DOCUMENT", RelationshipType.DESCRIBES, image_id),
    ]
    for i, pkg in enumerate(report.packages):
        spdx_id = f"SPDXRef-Package-{pkg.ecosystem.value}-{_SPDX_ID.sub('-', pkg.name)}-{i}"
        packages.append(
            SpdxPackage(
                spdx_id=spdx_id,
                name=pkg.name,
                download_location=SpdxNoAssertion(),
                version=pkg.version,
                files_analyzed=False,
                source_info=f"found by {pkg.analyser} {pkg.analyser_version} in /{pkg.path}",
                external_references=[
                    ExternalPackageRef(ExternalPackageRefCategory.PACKAGE_MANAGER, "purl", pkg.purl)
                ],
            )
        )
        relationships.append(Relationship(image_id, RelationshipType.CONTAINS, spdx_id))
    doc = Document(info, packages=packages, relationships=relationships)
    out = io.StringIO()
    write_document_to_stream(doc, out, validate=True)
    return out.getvalue()


def to_cyclonedx(report: IndexReport) -> str:
    bom = Bom()
    bom.metadata.component = root = Component(
        name=_image_name(report),
        version=report.manifest_digest,
        type=ComponentType.CONTAINER,
        bom_ref=report.manifest_digest,
    )
    components = [
        Component(
            name=pkg.name,
            version=pkg.version,
            type=ComponentType.LIBRARY,
            purl=PackageURL.from_string(pkg.purl),
            bom_ref=f"{pkg.purl}#{i}",
        )
        for i, pkg in enumerate(report.packages)
    ]
    for c in components:
        bom.components.add(c)
    bom.register_dependency(root, components)
    return str(JsonV1Dot5(bom).output_as_string(indent=2))

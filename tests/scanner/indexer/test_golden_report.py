"""The whole index report of a fixed multi-ecosystem image, against a golden file.

Regenerate after an intended change with STOCKADE_UPDATE_GOLDEN=1 and review the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from stockade.model.index_report import report_to_dict
from stockade.scanner.indexer.engine import Indexer
from stockade.scanner.indexer.oci_layout import OCILayoutSource

from .conftest import CLAIRCORE
from .imagebuilder import Exe, Link, make_layout

HERE = Path(__file__).parent
FIXTURES = HERE / "formats" / "fixtures"
GOLDEN = HERE / "golden" / "multi-ecosystem-report.json"


def test_report_matches_golden(tmp_path: Path) -> None:
    ubi = CLAIRCORE / "rhel" / "testdata" / "releasefiles" / "9" / "etc"
    layers = [
        {
            "usr/lib/os-release": (ubi / "os-release").read_bytes(),
            "etc/os-release": Link("../usr/lib/os-release"),
            "etc/redhat-release": (ubi / "redhat-release").read_bytes(),
            "var/lib/rpm/rpmdb.sqlite": (FIXTURES / "rpm" / "rpmdb.sqlite").read_bytes(),
            "root/buildinfo/content_manifests/ubi9.json": b'{"content_sets": ["rhel-9-for-x86_64-baseos-rpms"]}',
        },
        {
            "usr/local/bin/hello": Exe((FIXTURES / "go" / "hello-linux-amd64").read_bytes()),
            "opt/app/shop.war": (FIXTURES / "java" / "shop.war").read_bytes(),
            "opt/app/venv/lib/python3.11/site-packages/Flask-1.0.dist-info/METADATA": b"Metadata-Version: 2.1\nName: Flask\nVersion: 1.0\n",
            "opt/app/node_modules/@types/node/package.json": b'{"name": "@types/node", "version": "18.0.0"}',
        },
        {
            "opt/app/.wh.shop.war": b"",
        },
    ]
    config = {
        "created": "2024-05-01T00:00:00Z",
        "config": {
            "User": "1001",
            "Labels": {"vendor": "Red Hat, Inc.", "com.redhat.component": "ubi9-container"},
            "ExposedPorts": {"8080/tcp": {}},
            "Cmd": ["/usr/local/bin/hello"],
        },
        "history": [
            {"created_by": "/bin/sh -c #(nop) ADD file:ubi in / "},
            {"created_by": "/bin/sh -c make install"},
            {"created_by": "/bin/sh -c rm /opt/app/shop.war"},
        ],
    }
    root = make_layout(tmp_path / "img", layers, config_extra=config)  # type: ignore[arg-type]
    report = Indexer().index(OCILayoutSource(root, "test"))
    got = report_to_dict(report)
    got["image"] = "<image>"  # the temporary path
    if os.environ.get("STOCKADE_UPDATE_GOLDEN"):
        GOLDEN.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n")
    assert got == json.loads(GOLDEN.read_text())

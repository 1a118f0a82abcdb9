"""``stockade scanner index``: table, JSON and SBOM output; exit codes."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from spdx_tools.spdx.parser.parse_anything import parse_file
from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

from stockade.cli.main import cli, main
from stockade.cli.scanner_cmds import render
from stockade.model.index_report import report_from_dict

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scanner"))
from indexer.conftest import BuiltImage, test_image  # noqa: F401


def _run(*args: str) -> str:
    result = CliRunner().invoke(cli, ["scanner", "index", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_table(test_image: BuiltImage) -> None:  # noqa: F811
    out = _run(f"docker-archive:{test_image.archive}")
    assert "Distribution: Debian GNU/Linux 12 (bookworm) (debian 12)" in out
    assert any(line.split()[:3] == ["requests", "2.25.1", "pypi"] for line in out.splitlines())
    assert any(line.split()[:3] == ["lodash", "4.17.15", "npm"] for line in out.splitlines())


def test_json_and_sboms(test_image: BuiltImage, tmp_path: Path) -> None:  # noqa: F811
    ref = f"oci:{test_image.oci}:test"
    report = json.loads(_run(ref, "-o", "json"))
    names = {(p["ecosystem"], p["name"], p["version"]) for p in report["packages"]}
    assert ("pypi", "urllib3", "1.26.4") in names

    parsed = report_from_dict(report)
    spdx_text = render(parsed, "spdx-json")
    (tmp_path / "sbom.spdx.json").write_text(spdx_text)
    doc = parse_file(str(tmp_path / "sbom.spdx.json"))
    assert validate_full_spdx_document(doc) == []
    assert len(doc.packages) == len(report["packages"]) + 1  # + the image itself
    purls = {r.locator for p in doc.packages for r in p.external_references}
    assert "pkg:pypi/urllib3@1.26.4" in purls

    cdx = render(parsed, "cyclonedx-json")
    assert JsonStrictValidator(SchemaVersion.V1_5).validate_str(cdx) is None
    assert {c["purl"] for c in json.loads(cdx)["components"]} >= {"pkg:npm/minimist@1.2.0"}


def test_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["scanner", "index", f"oci:{tmp_path}"])
    assert info.value.code == 3
    assert "is not an OCI image layout" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        main(["scanner", "index", "--platform", "amd64", f"oci:{tmp_path}"])
    assert info.value.code == 2

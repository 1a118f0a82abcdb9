"""``stockade scanner index``: table, JSON and SBOM output; exit codes."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import grpc
import pytest
from click.testing import CliRunner
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from spdx_tools.spdx.parser.parse_anything import parse_file
from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

from stockade.cli.main import cli, main
from stockade.cli.scanner_cmds import render
from stockade.model.index_report import report_from_dict
from stockade.scanner.v1 import indexer_pb2 as pb
from stockade.scanner.v1 import indexer_pb2_grpc as pb_grpc

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scanner"))
from indexer.conftest import (  # noqa: F401
    BuiltImage,
    Registry,
    auth_registry,
    free_port,
    test_image,
)


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


def test_registry_credentials_from_stdin(
    auth_registry: Registry,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ref = f"{auth_registry.address}/private/test:latest"
    args = ["scanner", "index", ref, "--insecure-registry", auth_registry.address]
    args += ["--username", "alice", "--password-stdin", "-o", "json"]
    result = CliRunner().invoke(cli, args, input="wonderland\n", catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.output)["packages"]) > 50
    with pytest.raises(SystemExit) as info:
        monkeypatch.setattr(sys, "stdin", io.StringIO("nope\n"))
        main(args)
    assert info.value.code == 3


def test_indexer_serves(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "stockade.cli.main",
            "scanner",
            "indexer",
            "--listen",
            f"127.0.0.1:{port}",
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        assert "listening" in proc.stderr.readline()
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = pb_grpc.IndexerServiceStub(channel)
            got = stub.HasIndexReport(
                pb.HasIndexReportRequest(manifest_digest="sha256:" + "0" * 64), timeout=10
            )
            assert got.exists is False
    finally:
        proc.terminate()
        proc.wait(timeout=10)

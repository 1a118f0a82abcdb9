"""``update`` and ``bundle export|import`` end to end on PostgreSQL, through the click
commands (the ``scanner`` group adds them; here they are run from bundle_cmds directly)."""

from __future__ import annotations

import json
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner

from stockade.cli.bundle_cmds import command
from stockade.scanner.matcher.store import VulnerabilityStore

SHARED = Path(__file__).parents[4] / ".." / "shared"
VULNDATA = SHARED / "vulndata"
CLAIRCORE = SHARED / "claircore-testdata"


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(command, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def _records(url: str) -> list[str]:
    return sorted(r.to_json() for r in VulnerabilityStore(url).records())


def _seed(url: str) -> None:
    code, out = _run(
        "update",
        "--db-url",
        url,
        "--offline",
        f"alpine={CLAIRCORE / 'alpine/testdata/fetch'}",
        "--offline",
        f"cisa-kev={CLAIRCORE / 'enricher/kev/testdata'}",
        "--offline",
        f"osv-go={VULNDATA / 'osv-go/data/osv/GO-2022-0969.json'}",
    )
    assert code == 0, out
    assert "alpine" in out and "updated" in out


def test_export_then_import_reproduces_the_store(
    make_database: Callable[[], str], tmp_path: Path
) -> None:
    src, dst = make_database(), make_database()
    _seed(src)
    bundle = tmp_path / "vulns.zip"
    code, out = _run("bundle", "export", "--db-url", src, str(bundle))
    assert code == 0, out
    assert "3 sources" in out
    code, out = _run("bundle", "import", "--db-url", dst, str(bundle))
    assert code == 0, out
    assert _records(dst) == _records(src)
    # the same bundle again: every source unchanged
    code, out = _run("bundle", "import", "--db-url", dst, str(bundle))
    assert code == 0
    assert out.count("unchanged") == 3
    runs = VulnerabilityStore(dst).runs()
    assert [r.status for r in runs] == ["updated"] * 3 + ["unchanged"] * 3


def test_tampered_member_fails_that_source_only(
    make_database: Callable[[], str], tmp_path: Path
) -> None:
    src, dst = make_database(), make_database()
    _seed(src)
    bundle = tmp_path / "vulns.zip"
    assert _run("bundle", "export", "--db-url", src, str(bundle))[0] == 0
    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(bundle) as zin, zipfile.ZipFile(tampered, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == "records/alpine.jsonl.gz":
                data = data[:-10] + bytes(10)
            zout.writestr(info.filename, data)
    code, out = _run("bundle", "import", "--db-url", dst, str(tampered))
    assert code == 3
    assert "alpine: records/alpine.jsonl.gz: checksum mismatch" in out
    stored = {r.source for r in VulnerabilityStore(dst).records()}
    assert stored == {"cisa-kev", "osv-go"}


def test_not_a_bundle_is_one_clear_error(database_url: str, tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.zip"
    bogus.write_text("nope")
    result = CliRunner().invoke(command, ["bundle", "import", "--db-url", database_url, str(bogus)])
    assert result.exit_code != 0
    assert "bogus.zip is not a readable vulnerability bundle" in str(result.exception)


def test_update_failure_exit_code_and_other_sources(database_url: str, tmp_path: Path) -> None:
    broken = tmp_path / "kev"
    shutil.copytree(CLAIRCORE / "enricher/kev/testdata", broken)
    f = broken / "known_exploited_vulnerabilities.json"
    doc = json.loads(f.read_text())
    del doc["vulnerabilities"][1]["dateAdded"]
    f.write_text(json.dumps(doc))
    code, out = _run(
        "update",
        "--db-url",
        database_url,
        "--offline",
        f"cisa-kev={broken}",
        "--offline",
        f"epss={CLAIRCORE / 'enricher/epss/testdata'}",
    )
    assert code == 3
    assert (
        "cisa-kev: known_exploited_vulnerabilities.json: record vulnerabilities[1]: "
        "missing field 'dateAdded'" in out
    )
    assert VulnerabilityStore(database_url).count("epss") == 29


def test_bad_offline_flag_is_a_usage_error(database_url: str) -> None:
    result = CliRunner().invoke(command, ["update", "--db-url", database_url, "--offline", "x"])
    assert result.exit_code != 0
    assert "--offline expects NAME=PATH" in str(result.exception)


def test_match_command_json_and_no_data(database_url: str, tmp_path: Path) -> None:
    from stockade.model.index_report import (
        Ecosystem,
        IndexReport,
        Package,
        PackageKind,
        report_to_dict,
    )

    report = IndexReport(
        manifest_digest="sha256:x",
        packages=(
            Package(
                name="requests",
                version="2.25.1",
                kind=PackageKind.LANGUAGE,
                ecosystem=Ecosystem.PYPI,
                purl="",
                path="",
                analyser="t",
                analyser_version="1",
            ),
        ),
    )
    path = tmp_path / "report.json"
    path.write_text(json.dumps(report_to_dict(report)))
    code, out = _run("match", "--db-url", database_url, str(path))
    assert code == 3  # nothing loaded: "no vulnerability data", not "no vulnerabilities"
    assert "no vulnerability data" in out
    assert (
        _run(
            "update",
            "--db-url",
            database_url,
            "--offline",
            f"osv-pypi={VULNDATA / 'osv-pypi/vulns/requests'}",
        )[0]
        == 0
    )
    code, out = _run("match", "--db-url", database_url, "-o", "json", str(path))
    assert code == 0
    doc = json.loads(out)
    assert doc["status"] == "ok"
    assert "PYSEC-2023-74" in {f["id"] for f in doc["findings"]}

"""The policy and check commands: outputs (golden files), exit codes, error lines."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

from stockade.cli.main import cli
from stockade.policy import load_default_policies, load_policies

GOLDEN = Path(__file__).parent / "golden"
MANIFESTS = str(GOLDEN / "manifests.yaml")
IMAGE = str(GOLDEN / "image.json")
REF = Path(__file__).parents[2] / ".." / "shared" / "reference" / "rhacs-default-policies"
UPDATE = os.environ.get("STOCKADE_UPDATE_GOLDEN") == "1"


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def stockade(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    code = "import sys; from stockade.cli.main import main; main(sys.argv[1:])"
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        input=stdin,
        capture_output=True,
        timeout=60,
        check=False,
    )


def golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.write_text(text)
    assert text == path.read_text()


@pytest.mark.parametrize(
    ("fmt", "ext"),
    [("table", "txt"), ("json", "json"), ("csv", "csv"), ("junit", "xml"), ("sarif", "sarif")],
)
def test_deployment_check_outputs(fmt: str, ext: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # a relative path, so the golden files hold no checkout-specific location
    monkeypatch.chdir(GOLDEN)
    code, out, _ = invoke("deployment", "check", "--local", "-f", "manifests.yaml", "-o", fmt)
    assert code == 0  # nothing with a deploy-time enforcement action fired
    golden(f"deployment_check.{ext}", out)


def test_deployment_check_json_content() -> None:
    _, out, _ = invoke("deployment", "check", "--local", "-f", MANIFESTS, "-o", "json")
    doc = json.loads(out)
    by_name = {r["name"]: r for r in doc["results"]}
    assert set(by_name) == {"shop-web", "nightly"}
    web = {v["policy"]["name"]: v["messages"] for v in by_name["shop-web"]["violations"]}
    assert web["Latest tag"] == ["Container 'web' has image tag 'latest'"]
    assert "Environment Variable Contains Secret" in web
    assert "Deployments with externally exposed endpoints" not in web  # disabled by default
    nightly = {v["policy"]["name"] for v in by_name["nightly"]["violations"]}
    assert {
        "Privileged Container",
        "Docker CIS 5.15: Ensure that the host's process namespace is not shared",
    } <= nightly


def test_junit_and_sarif_are_well_formed() -> None:
    _, out, _ = invoke("deployment", "check", "--local", "-f", MANIFESTS, "-o", "junit")
    root = ET.fromstring(out.split("\n", 1)[1])
    assert root.tag == "testsuites" and int(root.get("tests", "0")) > 0
    _, out, _ = invoke("deployment", "check", "--local", "-f", MANIFESTS, "-o", "sarif")
    sarif = json.loads(out)
    assert sarif["version"] == "2.1.0"
    rule_ids = {r["id"] for r in sarif["runs"][0]["tool"]["driver"]["rules"]}
    assert {r["ruleId"] for r in sarif["runs"][0]["results"]} <= rule_ids


def test_image_check_fails_build_on_enforced_policy() -> None:
    code, out, _ = invoke("image", "check", "--local", "--image-json", IMAGE)
    assert code == 1
    golden("image_check.txt", out)
    assert "Fixable Severity at least Important" in out


def test_policies_dir_adds_and_no_defaults(tmp_path: Path) -> None:
    custom = {
        "name": "No nginx",
        "lifecycleStages": ["DEPLOY"],
        "severity": "HIGH_SEVERITY",
        "enforcementActions": ["SCALE_TO_ZERO_ENFORCEMENT"],
        "policySections": [
            {"policyGroups": [{"fieldName": "Image Remote", "values": [{"value": ".*nginx"}]}]}
        ],
    }
    (tmp_path / "p.json").write_text(json.dumps(custom))
    code, out, _ = invoke(
        "deployment",
        "check",
        "--local",
        "--no-defaults",
        "--policies",
        str(tmp_path),
        "-f",
        MANIFESTS,
        "-o",
        "json",
    )
    assert code == 1
    doc = json.loads(out)
    assert doc["summary"] == {"objects": 2, "policies": 1, "violations": 1, "failing": 1}


def test_manifest_from_stdin() -> None:
    proc = stockade(
        "deployment", "check", "--local", "-f", "-", "-o", "csv", stdin=Path(MANIFESTS).read_bytes()
    )
    assert proc.returncode == 0
    assert b"shop,shop-web,Latest tag,LOW,false" in proc.stdout


@pytest.mark.parametrize(
    ("args", "stdin", "code", "needle"),
    [
        (["deployment", "check", "-f", MANIFESTS], None, 2, b"--local"),
        (["deployment", "check", "--local", "-f", "/nonexistent.yaml"], None, 3, b"cannot read"),
        (["deployment", "check", "--local", "-f", "-"], b"a: [unclosed", 3, b"not valid YAML"),
        (["deployment", "check", "--local", "-o", "xml", "-f", MANIFESTS], None, 2, b"xml"),
        (["image", "check", "--local", "--image-json", "-"], b"{bad", 3, b"not valid JSON"),
    ],
)
def test_errors_are_one_line_with_exit_code(
    args: list[str], stdin: bytes | None, code: int, needle: bytes
) -> None:
    proc = stockade(*args, stdin=stdin)
    assert proc.returncode == code
    assert needle in proc.stderr
    assert b"Traceback" not in proc.stderr


def test_policy_lint(tmp_path: Path) -> None:
    code, out, err = invoke("policy", "lint", *map(str, sorted(REF.glob("*.json"))))
    assert code == 0 and "89 policies checked, 0 problem(s)." in out
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps(
            {
                "name": "Bad",
                "lifecycleStages": ["DEPLOY"],
                "policySections": [
                    {
                        "sectionName": "s1",
                        "policyGroups": [{"fieldName": "CVSS", "values": [{"value": "lots"}]}],
                    }
                ],
            }
        )
    )
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    code, out, err = invoke("policy", "lint", str(bad), str(broken))
    assert code == 1
    assert "policy 'Bad', section 's1', field 'CVSS', value 'lots'" in err
    assert "broken.json is not valid JSON" in err


def test_policy_import_then_export(tmp_path: Path) -> None:
    store = tmp_path / "policies"
    code, out, _ = invoke(
        "policy",
        "import",
        "--into",
        str(store),
        str(REF / "latest_tag.json"),
        str(REF / "log4shell.json"),
    )
    assert code == 0 and "Imported 2 policies" in out
    code, out, _ = invoke("policy", "export", "--local", "--no-defaults", "--policies", str(store))
    assert code == 0
    exported = json.loads(out)["policies"]
    assert exported == [
        json.loads((REF / f).read_text()) for f in ("latest_tag.json", "log4shell.json")
    ]
    proc = stockade("policy", "import", "--into", str(store), str(REF / "latest_tag.json"))
    assert proc.returncode == 2 and b"--overwrite" in proc.stderr


def test_export_defaults_round_trip(tmp_path: Path) -> None:
    out_file = tmp_path / "all.json"
    code, _, _ = invoke("policy", "export", "--local", "-O", str(out_file))
    assert code == 0
    again = load_policies(out_file.read_text())
    assert [p.name for p in again] == [p.name for p in load_default_policies()]

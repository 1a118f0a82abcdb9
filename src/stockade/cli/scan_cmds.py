"""``stockade image scan`` and ``stockade image sbom``: ask Central to scan an image."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import click

from stockade.cli.central_client import client_options, make_client
from stockade.core.errors import ConfigError

SEVERITIES = ("UNKNOWN", "LOW", "MODERATE", "IMPORTANT", "CRITICAL")
_SARIF_LEVEL = {
    "CRITICAL": "error",
    "IMPORTANT": "error",
    "MODERATE": "warning",
    "LOW": "note",
    "UNKNOWN": "note",
}


def findings(image: dict[str, Any], severities: set[str]) -> list[dict[str, Any]]:
    rows = []
    for comp in image.get("components", []):
        for v in comp.get("vulns", []):
            sev = str(v.get("severity", "UNKNOWN")).upper()
            if severities and sev not in severities:
                continue
            rows.append(
                {
                    "component": comp.get("name", ""),
                    "version": comp.get("version", ""),
                    "cve": v.get("cve", ""),
                    "severity": sev,
                    "cvss": v.get("cvss", 0.0),
                    "fixedBy": v.get("fixedBy", ""),
                    "location": comp.get("location", ""),
                }
            )
    rows.sort(
        key=lambda r: (
            -SEVERITIES.index(r["severity"]),
            -float(r["cvss"] or 0),
            r["component"],
            r["cve"],
        )
    )
    return rows


def signature_lines(image: dict[str, Any]) -> list[str]:
    """One line per signature integration in Central's answer: verified by it, or why not."""
    data = image.get("signatureVerificationData")
    results = data.get("results") if isinstance(data, dict) else None
    lines = []
    for r in results if isinstance(results, list) else []:
        if not isinstance(r, dict):
            continue
        name = r.get("verifierName") or r.get("verifierId") or "?"
        if r.get("status") == "VERIFIED":
            lines.append(f"Signature: verified by {name}")
        else:
            reason = r.get("description") or r.get("status") or "no reason given"
            lines.append(f"Signature: not verified by {name} ({reason})")
    return lines


def render(image: dict[str, Any], rows: list[dict[str, Any]], fmt: str) -> str:
    if fmt == "json":
        doc: dict[str, Any] = {
            "image": {k: image.get(k) for k in ("id", "name", "os", "scanTime", "notes")},
            "findings": rows,
        }
        if "signatureVerificationData" in image:  # a Central that verifies signatures
            doc["signatureVerificationData"] = image["signatureVerificationData"]
        return json.dumps(doc, indent=2) + "\n"
    if fmt == "csv":
        out = io.StringIO()
        w = csv.DictWriter(
            out,
            ["component", "version", "cve", "severity", "cvss", "fixedBy", "location"],
            lineterminator="\n",
        )
        w.writeheader()
        w.writerows(rows)
        return out.getvalue()
    if fmt == "sarif":
        rules = {
            r["cve"]: {
                "id": r["cve"],
                "shortDescription": {"text": r["cve"]},
                "helpUri": f"https://nvd.nist.gov/vuln/detail/{r['cve']}",
            }
            for r in rows
            if r["cve"].startswith("CVE-")
        }
        results = [
            {
                "ruleId": r["cve"],
                "level": _SARIF_LEVEL[r["severity"]],
                "message": {
                    "text": f"{r['cve']} ({r['severity'].lower()}, CVSS {r['cvss']}) in "
                    f"{r['component']} {r['version']}"
                    + (f", fixed in {r['fixedBy']}" if r["fixedBy"] else "")
                },
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": {"uri": r["location"] or image.get("name", "")}
                        }
                    }
                ],
            }
            for r in rows
        ]
        doc = {
            "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
            "version": "2.1.0",
            "runs": [
                {
                    "tool": {"driver": {"name": "stockade", "rules": list(rules.values())}},
                    "results": results,
                }
            ],
        }
        return json.dumps(doc, indent=2) + "\n"
    lines = [f"Image {image.get('name')} ({image.get('id')}), {len(rows)} findings"]
    for note in image.get("notes") or []:
        lines.append(f"note: {note}")
    lines += signature_lines(image)
    if rows:
        widths = {
            k: max(len(k), *(len(str(r[k])) for r in rows))
            for k in ("component", "version", "cve", "severity", "cvss", "fixedBy")
        }
        header = "  ".join(k.upper().ljust(w) for k, w in widths.items())
        lines += [header] + ["  ".join(str(r[k]).ljust(w) for k, w in widths.items()) for r in rows]
    return "\n".join(lines) + "\n"


@click.command("scan")
@click.option("-i", "--image", "image_name", required=True, help="image to scan")
@click.option("--force", is_flag=True, help="scan again even if Central has a recent scan")
@click.option(
    "-o",
    "--output",
    type=click.Choice(["table", "json", "csv", "sarif"]),
    default="table",
    show_default=True,
)
@click.option(
    "--severity",
    default="",
    help="only these severities, comma-separated (LOW,MODERATE,IMPORTANT,CRITICAL)",
)
@click.option("--fail", is_flag=True, help="exit 1 when any finding remains after filtering")
@client_options
@click.pass_context
def scan(
    ctx: click.Context,
    /,
    image_name: str,
    force: bool,
    output: str,
    severity: str,
    fail: bool,
    **conn: Any,
) -> None:
    """Scan an image through Central and list its vulnerabilities."""
    wanted = {s.strip().upper() for s in severity.split(",") if s.strip()}
    unknown = wanted - set(SEVERITIES)
    if unknown:
        raise ConfigError(
            f"unknown severity {', '.join(sorted(unknown))}; use {', '.join(SEVERITIES[1:])}"
        )
    client = make_client(**conn)
    image = client.json("POST", "/v1/images/scan", {"imageName": image_name, "force": force})
    rows = findings(image, wanted)
    click.echo(render(image, rows, output), nl=False)
    ctx.exit(1 if fail and rows else 0)


@click.command("sbom")
@click.option("-i", "--image", "image_name", required=True, help="image to describe")
@click.option("--force", is_flag=True, help="scan again even if Central has a recent scan")
@client_options
def sbom(image_name: str, force: bool, **conn: Any) -> None:
    """Print an image's SBOM (SPDX 2.3 JSON), from Central's scan of it."""
    client = make_client(**conn)
    resp = client.call("POST", "/api/v1/images/sbom", {"imageName": image_name, "force": force})
    click.echo(resp.text)

"""Builders for the default-policy test table: a hardened baseline plus small patches."""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

import yaml

from stockade.model.deployment import Deployment
from stockade.model.image import Image, image_from_json
from stockade.model.runtime import AuditEvent, KubernetesEvent, NetworkFlow, ProcessIndicator
from stockade.workload import normalize_objects

GOLDEN = Path(__file__).parent / "golden"
NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)


def _times(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _times(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_times(v) for v in value]
    if value == "RECENT":
        return (NOW - dt.timedelta(days=1)).isoformat()
    if isinstance(value, str) and value.startswith("DAYS_AGO_"):
        return (NOW - dt.timedelta(days=int(value.removeprefix("DAYS_AGO_")))).isoformat()
    return value


def merge(base: Any, patch: Any) -> Any:
    """Deep-merge dicts; anything else in the patch replaces."""
    if isinstance(base, dict) and isinstance(patch, dict):
        out = dict(base)
        for k, v in patch.items():
            out[k] = merge(base.get(k), v) if k in base else v
        return out
    return copy.deepcopy(patch)


def baseline_docs() -> list[dict[str, Any]]:
    return list(yaml.safe_load_all((GOLDEN / "baseline.yaml").read_text()))


def baseline_image_json() -> dict[str, Any]:
    return _times(json.loads((GOLDEN / "baseline_image.json").read_text()))


def cases() -> dict[str, dict[str, dict[str, Any]]]:
    return yaml.safe_load((GOLDEN / "default_policy_cases.yaml").read_text())


class Case:
    """One row of the table turned into model objects."""

    def __init__(self, patch: dict[str, Any]) -> None:
        docs = baseline_docs()
        dep = docs[0]
        pod = dep["spec"]["template"]["spec"]
        if "container" in patch:
            pod["containers"][0] = merge(pod["containers"][0], patch["container"])
        if "pod" in patch:
            dep["spec"]["template"]["spec"] = merge(pod, patch["pod"])
        if "metadata" in patch:
            dep["metadata"] = merge(dep["metadata"], patch["metadata"])
        if patch.get("no_netpol"):
            docs = [d for d in docs if d["kind"] != "NetworkPolicy"]
        docs.extend(patch.get("docs", []))
        self.manifests = docs
        deployments = normalize_objects(docs)
        assert len(deployments) == 1
        self.deployment: Deployment = deployments[0]
        image = baseline_image_json()
        image = merge(image, _times(patch.get("image", {})))
        image["components"] = (image.get("components") or []) + patch.get("add_components", [])
        if patch.get("image", {}).get("components", "keep") is None:
            image["components"] = None
        image["dockerfile"] = image.get("dockerfile", []) + patch.get("add_dockerfile", [])
        digest = hashlib.sha256(json.dumps(image, sort_keys=True).encode()).hexdigest()
        image["id"] = (
            f"sha256:{digest}"  # facts are cached by digest: each variant is its own image
        )
        self.image_json = image
        self.image: Image | None = None if patch.get("no_image") else image_from_json(image)
        self.images = {} if self.image is None else {"api": self.image}
        self.image_only = not (
            {"container", "pod", "metadata", "docs", "no_netpol", "no_image"} & set(patch)
        )
        self.process = (
            ProcessIndicator(container_name="api", **patch["process"])
            if "process" in patch
            else None
        )
        self.kube_event = KubernetesEvent(**patch["kube_event"]) if "kube_event" in patch else None
        self.flow = NetworkFlow(**patch["flow"]) if "flow" in patch else None
        if "audit" in patch:
            self.audit: AuditEvent | None = AuditEvent(**patch["audit"])
        else:
            self.audit = None

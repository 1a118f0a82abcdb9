"""Kubernetes workload manifests normalised into the deployment model (Sensor, CLI, Central).

load_deployments(text) -> list[Deployment]     # YAML/JSON, multi-document, kind: List
normalize_objects(docs) -> list[Deployment]    # already-decoded objects
"""

from stockade.workload.errors import ManifestError
from stockade.workload.normalize import load_deployments, normalize_objects, parse_quantity
from stockade.workload.yamlsafe import load_documents

__all__ = [
    "ManifestError",
    "load_deployments",
    "load_documents",
    "normalize_objects",
    "parse_quantity",
]

"""Build- and deploy-time checks for CI (resource ``Detection``): an image or manifests in,
the alerts of every policy that fires out. Nothing is stored."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import uuid
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from stockade.central.api.deps import CentralDep, reader
from stockade.central.errors import BadRequest
from stockade.model.image import Image, image_from_json
from stockade.policy import LifecycleStage, Violation, policy_to_json
from stockade.workload.errors import ManifestError
from stockade.workload.normalize import load_deployments

router = APIRouter(tags=["Detection"])
DETECTION = [reader("Detection")]


def alert_json(v: Violation, stage: LifecycleStage, subject: Mapping[str, Any]) -> dict[str, Any]:
    policy = policy_to_json(v.policy)
    enforced = v.enforced(stage)
    out: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "policy": policy,
        "lifecycleStage": stage.value,
        "violations": [{"message": m} for m in v.messages],
        "time": dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z"),
        **subject,
    }
    if enforced:
        action = next(
            (
                a.value
                for a in v.policy.enforcement_actions
                if (stage is LifecycleStage.BUILD and a.value == "FAIL_BUILD_ENFORCEMENT")
                or (stage is LifecycleStage.DEPLOY and a.value != "FAIL_BUILD_ENFORCEMENT")
            ),
            "",
        )
        out["enforcement"] = {"action": action, "message": "the policy enforces at this stage"}
    return out


def _wanted(v: Violation, categories: list[str]) -> bool:
    if not categories:
        return True
    want = {c.lower() for c in categories}
    return any(c.lower() in want for c in v.policy.categories)


def without_excepted(image: Image, excepted: Mapping[str, str]) -> Image:
    """The image minus findings an approved exception covers."""
    if not excepted:
        return image
    return dataclasses.replace(
        image,
        components=tuple(
            dataclasses.replace(
                comp,
                vulnerabilities=tuple(v for v in comp.vulnerabilities if v.cve not in excepted),
            )
            for comp in image.components
        ),
    )


class BuildBody(BaseModel):
    imageName: str | None = None
    force: bool = False
    image: dict[str, Any] | None = None
    policyCategories: list[str] = Field(default_factory=list)


@router.post(
    "/v1/detect/build", dependencies=DETECTION, summary="Build-stage policies against an image"
)
async def detect_build(body: BuildBody, c: CentralDep) -> dict[str, Any]:
    if body.image is not None:
        try:
            image = image_from_json(body.image)
        except (ValueError, TypeError, KeyError) as exc:
            raise BadRequest(f"image: {exc}") from exc
        image = without_excepted(
            image,
            await c.exceptions.excepted(image.name.registry, image.name.remote, image.name.tag),
        )
    elif body.imageName:
        # scanned now, or a recent scan reused; excepted findings are left out by the load
        outcome = await c.scan(body.imageName, force=body.force)
        image = await c.images.load(outcome.image_id)
    else:
        raise BadRequest("give imageName (Central scans it) or image (its facts as JSON)")
    _, compiled = await c.policies.compiled()
    violations = await asyncio.to_thread(compiled.evaluate_image, image)
    subject = {"image": {"name": {"fullName": image.name.full_name}}}
    return {
        "alerts": [
            alert_json(v, LifecycleStage.BUILD, subject)
            for v in violations
            if _wanted(v, body.policyCategories)
        ]
    }


class DeployYamlBody(BaseModel):
    yaml: str
    namespace: str = "default"
    policyCategories: list[str] = Field(default_factory=list)


@router.post(
    "/v1/detect/deploy/yaml",
    dependencies=DETECTION,
    summary="Deploy-stage policies against Kubernetes manifests",
)
async def detect_deploy_yaml(body: DeployYamlBody, c: CentralDep) -> dict[str, Any]:
    try:
        deployments = await asyncio.to_thread(
            load_deployments, body.yaml, "yaml", body.namespace or "default"
        )
    except ManifestError as exc:
        raise BadRequest(exc.message) from exc
    _, compiled = await c.policies.compiled()
    runs = []
    for dep in deployments:
        violations = await asyncio.to_thread(compiled.evaluate_deployment, dep)
        subject = {"deployment": {"name": dep.name, "namespace": dep.namespace, "type": dep.kind}}
        runs.append(
            {
                "name": dep.name,
                "type": dep.kind,
                "alerts": [
                    alert_json(v, LifecycleStage.DEPLOY, subject)
                    for v in violations
                    if _wanted(v, body.policyCategories)
                ],
            }
        )
    return {"runs": runs}

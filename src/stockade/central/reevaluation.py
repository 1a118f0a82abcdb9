"""Re-evaluation after policies change: stored images and known deployments are checked
against the changed policies again, in the background, so alerts follow a policy edit without
a rescan or a new Sensor report.

The API calls :meth:`PolicyReevaluator.schedule` after a policy is created, updated, enabled
or imported, and answers at once; changes that arrive while a run is under way are gathered
into the next run. A run holds a session advisory lock, so with several Central replicas one
works at a time: a replica that finds the lock taken keeps its changes and tries again a little
later (no connection waits inside the lock call). A run walks the data in bounded batches:

- images (build stage): each stored image's facts against the changed build-stage policies;
  alerts that now match are raised, those of the changed policies that no longer match are
  resolved;
- deployments (deploy stage): Central knows a deployment's name, namespace, cluster, labels,
  replicas and its containers' names and images (tables ``deployments``, ``deployment_images``).
  A policy whose criteria all read those facts or image facts is evaluated on them; one that
  needs the rest of the spec (security context, resources, volumes, ports, environment,
  service account, host namespaces, annotations, network policies, RBAC) is skipped here and
  left to the Sensor, which evaluates full specs, and its existing alerts are not touched.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from stockade.central.errors import NotFound
from stockade.central.store.alerts import DeploymentRef
from stockade.core.tasks import cancel_and_wait
from stockade.model.deployment import Container, Deployment
from stockade.model.image import Image, ImageName
from stockade.policy import CompiledPolicySet, LifecycleStage, Policy, compile_policies
from stockade.policy.criteria import IMAGE_LEVELS, lookup

if TYPE_CHECKING:
    from stockade.central.runtime import Central

logger = logging.getLogger(__name__)

REEVALUATION_LOCK_KEY = 0x73746B7265657661  # "stkreeva"
BATCH = 100
RETRY_SECONDS = 2.0  # another replica holds the lock: try again this much later

#: deployment and container criteria answered by what Central stores about a deployment
KNOWN_DEPLOYMENT_FIELDS = frozenset({"Namespace", "Required Label", "Replicas", "Container Name"})


def needs_full_spec(policy: Policy) -> bool:
    """True when a criterion of ``policy`` reads a part of the spec Central does not store."""
    for section in policy.sections:
        for group in section.groups:
            spec = lookup(group.field_name)
            if spec is None or spec.level in IMAGE_LEVELS:
                continue
            if group.field_name not in KNOWN_DEPLOYMENT_FIELDS:
                return True
    return False


@dataclass
class Outcome:
    images: int = 0
    deployments: int = 0
    raised: list[str] = field(default_factory=list)
    resolved: int = 0
    skipped_policies: list[str] = field(default_factory=list)


class PolicyReevaluator:
    def __init__(
        self, central: Central, batch: int = BATCH, retry_seconds: float = RETRY_SECONDS
    ) -> None:
        self.central = central
        self.batch = batch
        self.retry_seconds = retry_seconds
        self._pending: set[str] = set()
        self._task: asyncio.Task[None] | None = None

    def schedule(self, policy_ids: Iterable[str]) -> None:
        """Re-evaluate against these policies soon; returns at once."""
        self._pending.update(pid for pid in policy_ids if pid)
        if self._pending and (self._task is None or self._task.done()):
            self._task = asyncio.create_task(self._drain(), name="policy-reevaluation")

    async def wait(self) -> None:
        """Until nothing is pending or running (tests, shutdown)."""
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None

    async def _drain(self) -> None:
        while self._pending:
            ids, self._pending = sorted(self._pending), set()
            try:
                outcome = await self.run(ids)
            except Exception:
                logger.exception("policy re-evaluation failed", extra={"policies": ids})
                continue
            if outcome is None:  # another replica is re-evaluating: ours waits its turn
                self._pending.update(ids)
                await asyncio.sleep(self.retry_seconds)

    async def run(self, policy_ids: list[str]) -> Outcome | None:
        """One run over every stored image and known deployment, under the lock; None when
        another replica holds it (nothing was done)."""
        async with self.central.db.try_advisory_lock(REEVALUATION_LOCK_KEY) as mine:
            if not mine:
                return None
            outcome = await self._run(policy_ids)
        logger.info(
            "policies re-evaluated",
            extra={
                "policies": policy_ids,
                "images": outcome.images,
                "deployments": outcome.deployments,
                "raised": len(outcome.raised),
                "resolved": outcome.resolved,
                "skipped_needing_full_spec": outcome.skipped_policies,
            },
        )
        return outcome

    async def _run(self, policy_ids: list[str]) -> Outcome:
        c = self.central
        policies: list[Policy] = []
        for pid in policy_ids:
            with contextlib.suppress(NotFound):  # deleted since: its alerts are resolved
                p = await c.policies.get(pid)
                if not p.disabled:  # disabling resolves its alerts where it happens
                    policies.append(p)
        outcome = Outcome()
        if not policies:
            return outcome
        ids = [p.id for p in policies]
        build = compile_policies(policies)
        deploy_ready = [p for p in policies if not needs_full_spec(p)]
        outcome.skipped_policies = [
            p.name
            for p in policies
            if LifecycleStage.DEPLOY in p.lifecycle_stages and p not in deploy_ready
        ]
        await self._images(build, ids, outcome)
        deploy_ids = [p.id for p in deploy_ready]
        if deploy_ids:
            await self._deployments(compile_policies(deploy_ready), deploy_ids, outcome)
        await c.notifications.notify_alerts(outcome.raised)  # queued; never waits
        return outcome

    async def _images(self, compiled: CompiledPolicySet, ids: list[str], outcome: Outcome) -> None:
        c = self.central
        after = ""
        while True:
            async with c.db.connection() as conn:
                cur = await conn.execute(
                    "SELECT id FROM images WHERE scan_state = 'SCANNED' AND id > %s"
                    " ORDER BY id LIMIT %s",
                    (after, self.batch),
                )
                batch = [str(r["id"]) for r in await cur.fetchall()]
            for image_id in batch:
                image = await c.images.load(image_id)
                violations = await asyncio.to_thread(compiled.evaluate_image, image)
                recorded = await c.alerts.record_image(image.name.full_name, violations, only=ids)
                outcome.raised += recorded.created
                outcome.resolved += len(recorded.resolved)
                outcome.images += 1
            if len(batch) < self.batch:
                return
            after = batch[-1]

    async def _deployments(
        self, compiled: CompiledPolicySet, ids: list[str], outcome: Outcome
    ) -> None:
        c = self.central
        after = uuid.UUID(int=0)
        images: dict[str, Image] = {}  # facts of the images seen in this run
        while True:
            async with c.db.connection() as conn:
                cur = await conn.execute(
                    "SELECT d.id, d.name, d.namespace, d.type, d.labels, d.replicas,"
                    " d.cluster_id, cl.name AS cluster_name FROM deployments d"
                    " JOIN clusters cl ON cl.id = d.cluster_id WHERE d.id > %s"
                    " ORDER BY d.id LIMIT %s",
                    (after, self.batch),
                )
                rows = [dict(r) for r in await cur.fetchall()]
                cur = await conn.execute(
                    "SELECT deployment_id, container, image_name, image_id FROM deployment_images"
                    " WHERE deployment_id = ANY(%s) ORDER BY deployment_id, container",
                    ([r["id"] for r in rows],),
                )
                containers = [dict(r) for r in await cur.fetchall()]
            by_deployment: dict[Any, list[dict[str, Any]]] = {}
            for x in containers:
                by_deployment.setdefault(x["deployment_id"], []).append(x)
            for row in rows:
                deployment = await self._deployment(row, by_deployment.get(row["id"], []), images)
                facts = {k: images[k] for k in _image_keys(deployment) if k in images}
                violations = await asyncio.to_thread(
                    compiled.evaluate_deployment, deployment, facts
                )
                ref = DeploymentRef(
                    str(row["id"]),
                    row["name"],
                    row["namespace"],
                    str(row["cluster_id"]),
                    row["cluster_name"],
                )
                recorded = await c.alerts.record_deployment(
                    ref, LifecycleStage.DEPLOY, violations, only=ids
                )
                outcome.raised += recorded.created
                outcome.resolved += len(recorded.resolved)
                outcome.deployments += 1
            if len(rows) < self.batch:
                return
            after = rows[-1]["id"]

    async def _deployment(
        self, row: dict[str, Any], containers: list[dict[str, Any]], images: dict[str, Image]
    ) -> Deployment:
        """The workload model from the facts Central stores; the rest keeps its defaults."""
        built = []
        for x in containers:
            image_id = x["image_id"] or ""
            if image_id and image_id not in images:
                with contextlib.suppress(NotFound):
                    images[image_id] = await self.central.images.load(image_id)
            built.append(
                Container(
                    name=x["container"], image=ImageName.parse(x["image_name"]), image_id=image_id
                )
            )
        return Deployment(
            name=row["name"],
            namespace=row["namespace"],
            kind=row["type"],
            id=str(row["id"]),
            cluster=row["cluster_name"],
            labels=dict(row["labels"] or {}),
            replicas=row["replicas"],
            containers=tuple(built),
        )


def _image_keys(deployment: Deployment) -> set[str]:
    return {x.image_id for x in deployment.containers if x.image_id}

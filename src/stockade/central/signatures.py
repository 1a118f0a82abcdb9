"""Image signature verification in Central: at every scan (after indexing, before policies are
evaluated) an image's cosign signatures are read from its registry and checked against every
signature integration's public keys. The outcome is stored with the image
(``images.signature_verification``): when, which digests were checked, and per integration a
status and reason. The ids of the integrations that verified it are the image's
``signatureVerifiedBy``, which the policy criterion "Image Signature Verified By" reads.

Digests checked: the image's platform manifest and, when the scanned reference names an image
index (a multi-platform image), the index too, since ``cosign sign`` signs the digest the tag
points at. An index digest counts only while that index lists the image's manifest: the tag is
resolved again after indexing (and stored digests are read again at re-verification), and a tag
moved to another image in between must not lend that image's signature to this one.

Every registry read has a deadline (``VERIFY_BUDGET_SECONDS``): the worker thread itself stops
then, so a registry that answers slowly holds neither the scan nor a thread.

When an integration is created, changed or deleted, stored images are verified again in the
background (newest first, at most ``REVERIFY_LIMIT`` images per run, one at a time), then the
policies that read the result are re-evaluated over images and deployments (the policy
re-evaluator's run); older images get the new keys at their next scan.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg.types.json import Jsonb

from stockade.central.store.signatures import SignatureIntegration
from stockade.core.errors import StockadeError
from stockade.core.tasks import cancel_and_wait
from stockade.policy.model import Policy
from stockade.scanner.indexer.cosign import check_signatures
from stockade.scanner.indexer.cosign_registry import Found, find_signatures
from stockade.scanner.indexer.errors import ImageNotFoundError
from stockade.scanner.indexer.registry import RegistryOptions, RegistrySource, parse_reference

if TYPE_CHECKING:
    from stockade.central.runtime import Central

logger = logging.getLogger(__name__)

VERIFIED = "VERIFIED"
FAILED = "FAILED_VERIFICATION"
CORRUPTED = "CORRUPTED_SIGNATURE"
GENERIC_ERROR = "GENERIC_ERROR"
SIGNATURE_FIELD = "Image Signature Verified By"
REVERIFY_LIMIT = 1000
VERIFY_BUDGET_SECONDS = 60.0
MAX_REASON = 1000


def _ts(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class Verification:
    """One image's verification against every signature integration at one moment."""

    verified_at: dt.datetime
    digests: tuple[str, ...]
    results: tuple[dict[str, Any], ...]  # the product's ImageSignatureVerificationResult

    @property
    def verified_by(self) -> tuple[str, ...]:
        return tuple(r["verifierId"] for r in self.results if r["status"] == VERIFIED)

    def to_json(self) -> dict[str, Any]:
        return {
            "verifiedAt": _ts(self.verified_at),
            "digests": list(self.digests),
            "results": list(self.results),
        }


def _result(
    integration: SignatureIntegration, when: dt.datetime, status: str, text: str, name: str
) -> dict[str, Any]:
    return {
        "verifierId": integration.id,
        "verificationTime": _ts(when),
        "status": status,
        "description": text[:MAX_REASON],
        "verifiedImageReferences": [name] if status == VERIFIED else [],
    }


def _signing_options(options: RegistryOptions) -> RegistryOptions:
    # the image was just fetched with these options; signatures get a shorter budget
    return dataclasses.replace(
        options, attempts=min(options.attempts, 2), timeout=min(options.timeout, 15.0)
    )


def _lists(manifest: bytes, manifest_digest: str) -> bool:
    """Whether ``manifest`` is an image index with ``manifest_digest`` among its manifests."""
    try:
        doc = json.loads(manifest)
    except (ValueError, RecursionError):
        return False
    entries = doc.get("manifests") if isinstance(doc, dict) else None
    if not isinstance(entries, list):
        return False
    return any(isinstance(e, dict) and e.get("digest") == manifest_digest for e in entries)


def _top(source: RegistrySource, manifest_digest: str) -> str | None:
    """The digest ``source``'s reference resolves to now (an index, when the tag names one:
    ``cosign sign`` signs what the tag points at), if it is still this image's."""
    data, _, top = source.fetch_manifest(source.ref.ref, source.ref.digest)
    return top if top == manifest_digest or _lists(data, manifest_digest) else None


def _covers(source: RegistrySource, digest: str, manifest_digest: str) -> bool:
    """Whether a digest remembered from an earlier verification is still an index listing the
    image's manifest (older results may predate that check; an index can be replaced)."""
    try:
        data, _, _ = source.fetch_manifest(digest, digest)
    except ImageNotFoundError:
        return False
    return _lists(data, manifest_digest)


def _all_failed(
    integrations: Sequence[SignatureIntegration], reference: str, text: str, digests: Sequence[str]
) -> Verification:
    now = dt.datetime.now(dt.UTC)
    results = tuple(_result(i, now, GENERIC_ERROR, text, reference) for i in integrations)
    return Verification(now, tuple(digests), results)


def _check(
    integ: SignatureIntegration, found: dict[str, Found], when: dt.datetime, reference: str
) -> dict[str, Any]:
    """One integration's result over the signatures read."""
    keys = integ.parsed_keys
    checks = [(d, check_signatures(f.layers, d, keys, f.problems)) for d, f in found.items()]
    good = next(((d, c) for d, c in checks if c.verified), None)
    if good is not None:
        digest, check = good
        text = f"{digest} verified with public key {check.key_name!r}"
        return _result(integ, when, VERIFIED, text, reference)
    status = CORRUPTED if all(c.corrupt for _, c in checks) else FAILED
    return _result(integ, when, status, "; ".join(c.reason for _, c in checks), reference)


def verify_image(
    reference: str,
    digests: Sequence[str],
    integrations: Sequence[SignatureIntegration],
    options: RegistryOptions,
    *,
    index_digest: bool = False,
    deadline: float | None = None,
) -> Verification:
    """Blocking: read the signatures of the image whose manifest is ``digests[0]`` and check
    them against each integration's keys. Also read: the further ``digests`` (indexes from an
    earlier verification) and, with ``index_digest``, the digest ``reference`` resolves to, each
    only while it is an index listing ``digests[0]``. No registry request is sent and no byte
    read after ``deadline`` (``time.monotonic()``): the image is then not verified."""
    now = dt.datetime.now(dt.UTC)
    manifest, *stored = dict.fromkeys(digests)
    wanted = [manifest]
    source = RegistrySource(reference, _signing_options(options), deadline=deadline)
    try:
        top = _top(source, manifest) if index_digest else None
        wanted += [top] if top else []
        wanted += [d for d in stored if d not in wanted and _covers(source, d, manifest)]
        found = {digest: find_signatures(source, digest) for digest in wanted}
    except StockadeError as exc:
        # the stored digests are kept unchecked: the next verification checks them again
        text = f"the registry could not be asked for signatures: {exc.message}"
        return _all_failed(integrations, reference, text, list(dict.fromkeys(wanted + stored)))
    finally:
        source.close()
    results = tuple(_check(i, found, now, reference) for i in integrations)
    return Verification(now, tuple(wanted), results)


def try_integration(
    reference: str,
    integration: SignatureIntegration,
    options: RegistryOptions,
    *,
    deadline: float | None = None,
) -> Verification:
    """Blocking, for the integration's "test": resolve ``reference`` as a scan would (its
    platform manifest and, for an index, the index) and check its signatures against this one
    integration. Raises StockadeError when the image or its registry cannot be read, or
    ``deadline`` (``time.monotonic()``) passes first."""
    now = dt.datetime.now(dt.UTC)
    source = RegistrySource(reference, _signing_options(options), deadline=deadline)
    try:
        manifest = source.resolve().manifest_digest
        top = _top(source, manifest)
        wanted = list(dict.fromkeys([manifest, top] if top else [manifest]))
        found = {digest: find_signatures(source, digest) for digest in wanted}
    finally:
        source.close()
    return Verification(now, tuple(found), (_check(integration, found, now, reference),))


async def bounded_verify(
    reference: str,
    digests: Sequence[str],
    integrations: Sequence[SignatureIntegration],
    options: RegistryOptions,
    *,
    index_digest: bool = False,
) -> Verification:
    """:func:`verify_image` within ``VERIFY_BUDGET_SECONDS``: a registry that answers slowly
    makes the image "not verified" (GENERIC_ERROR) instead of holding the scan. The worker
    thread has the same deadline and ends by it (plus at most one read that had begun)."""
    deadline = time.monotonic() + VERIFY_BUDGET_SECONDS
    try:
        return await asyncio.wait_for(
            asyncio.to_thread(
                verify_image,
                reference,
                digests,
                integrations,
                options,
                index_digest=index_digest,
                deadline=deadline,
            ),
            VERIFY_BUDGET_SECONDS,
        )
    except TimeoutError:
        text = f"reading the signatures took longer than {VERIFY_BUDGET_SECONDS:.0f} s"
        return _all_failed(integrations, reference, text, digests)


def _reads_signatures(policy: Policy) -> bool:
    return any(g.field_name == SIGNATURE_FIELD for s in policy.sections for g in s.groups)


class SignatureService:
    def __init__(self, central: Central) -> None:
        self.central = central
        self._task: asyncio.Task[None] | None = None
        self._again = False

    async def verify(
        self, reference: str, manifest_digest: str, options: RegistryOptions
    ) -> Verification:
        """The scan's step: every integration against the image just indexed."""
        integrations = await self.central.signature_integrations.list()
        if not integrations:
            return Verification(dt.datetime.now(dt.UTC), (manifest_digest,), ())
        return await bounded_verify(
            reference, [manifest_digest], integrations, options, index_digest=True
        )

    async def record(self, image_id: str, verification: Verification) -> None:
        async with self.central.db.connection() as conn:
            await conn.execute(
                "UPDATE images SET signature_verification = %s WHERE id = %s",
                (Jsonb(verification.to_json()), image_id),
            )

    async def reverify_all(self) -> int:
        """Verify stored images again with the current integrations and re-evaluate their
        build policies; returns how many were verified."""
        c = self.central
        async with c.db.connection() as conn:
            cur = await conn.execute(
                "SELECT id, name, signature_verification FROM images"
                " WHERE scan_state = 'SCANNED' AND id LIKE 'sha256:%%'"
                " ORDER BY last_updated DESC LIMIT %s",
                (REVERIFY_LIMIT + 1,),
            )
            rows = await cur.fetchall()
        if len(rows) > REVERIFY_LIMIT:
            logger.warning(
                "signature re-verification covers the newest images only; the rest are "
                "verified at their next scan",
                extra={"limit": REVERIFY_LIMIT},
            )
        integrations = await c.signature_integrations.list()
        done = 0
        for row in rows[:REVERIFY_LIMIT]:
            image_id, name = row["id"], row["name"]
            previous = row["signature_verification"] or {}
            digests = list(dict.fromkeys([image_id, *(previous.get("digests") or [])]))
            try:
                ref = parse_reference(name)
            except StockadeError:
                continue
            reference = f"{ref.registry}/{ref.repository}@{image_id}"
            if integrations:
                try:
                    options = await c.integrations.options_for(ref.registry)
                except StockadeError as exc:  # e.g. an ECR token exchange: this image only
                    text = f"the registry's credentials could not be had: {exc.message}"
                    verification = _all_failed(integrations, reference, text, digests)
                else:
                    verification = await bounded_verify(reference, digests, integrations, options)
            else:
                verification = Verification(dt.datetime.now(dt.UTC), tuple(digests), ())
            await self.record(image_id, verification)
            done += 1
        logger.info(
            "images verified again after a signature integration changed", extra={"images": done}
        )
        # images (build) and deployments (deploy) against the policies that read the result
        policies = await c.policies.all()
        c.policies_changed([p.id for p in policies if _reads_signatures(p)])
        return done

    def integrations_changed(self) -> None:
        """Re-verify in the background; changes during a run trigger one more run."""
        self._again = True
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="signature-reverify")

    async def _run(self) -> None:
        while self._again:
            self._again = False
            try:
                await self.reverify_all()
            except (StockadeError, psycopg.Error) as exc:
                logger.warning("signature re-verification stopped: %s", exc)

    async def wait(self) -> None:
        """Until the background re-verification (if any) and the policy re-evaluation it
        scheduled have finished."""
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)
        if self.central.reevaluation is not None:
            await self.central.reevaluation.wait()

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None

"""The Indexer: image source -> index report, each layer read at most once per analyser version.

1. Resolve the image (manifest digest, config, layer descriptors). A stored report for the
   same manifest digest and analyser set is returned as is.
2. For every layer, look up cached results per analyser (keyed by diff_id + analyser name +
   version). A layer with every result cached is not fetched at all. Otherwise the blob is
   streamed once through :func:`~stockade.scanner.indexer.layer.read_layer`, keeping only the
   files the missing analysers asked for; results are cached only after the blob's digest
   and diff_id have been verified.
3. Merge the layers bottom-up: whiteouts and opaque directories remove what lower layers had,
   a later file replaces an earlier one at the same path, and each finding keeps the layer
   that first introduced it.
4. Assemble the report (distribution, packages with distribution-qualified PURLs, Red Hat
   repositories, image metadata) and store it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import tarfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar, cast

from stockade.model.index_report import (
    Distribution,
    Ecosystem,
    IndexReport,
    Layer,
    Package,
    PackageKind,
    distribution_from_dict,
    package_from_dict,
)
from stockade.scanner.indexer.analysers import (
    CONTENT_MANIFESTS,
    DISTRIBUTION_DETECTOR,
    PACKAGE_ANALYSERS,
)
from stockade.scanner.indexer.analysers.base import Analyser, os_purl
from stockade.scanner.indexer.analysers.distribution import PRIORITY
from stockade.scanner.indexer.analysers.redhat import is_red_hat_image
from stockade.scanner.indexer.errors import ImageSourceError, IndexerError
from stockade.scanner.indexer.image import (
    Descriptor,
    ImageSource,
    ResolvedImage,
    VerifyingReader,
    diff_ids,
    image_metadata,
)
from stockade.scanner.indexer.layer import (
    DEFAULT_LIMITS,
    LayerContents,
    Limits,
    compile_patterns,
    resolve_symlinks,
)
from stockade.scanner.indexer.layer import read_layer as _read_layer

if TYPE_CHECKING:
    from stockade.scanner.indexer.store import IndexStore, LayerKey

logger = logging.getLogger(__name__)

T = TypeVar("T")
LAYERFS = ("layerfs", "1")  # the layer's whiteouts, opaque dirs and symlinks
AnyAnalyser = Analyser[object]


@dataclass(frozen=True, slots=True)
class LayerFacts:
    whiteouts: tuple[str, ...]
    opaque_dirs: tuple[str, ...]
    symlinks: dict[str, str]


@dataclass
class _LayerWork:
    index: int
    desc: Descriptor
    diff_id: str
    facts: LayerFacts | None
    results: dict[str, dict[str, list[object]]]  # analyser name -> path -> items (plain)
    missing: list[AnyAnalyser]


def _to_plain(item: object) -> object:
    if isinstance(item, Package):
        d = dataclasses.asdict(item)
        d.pop("layer", None)
        d["kind"] = item.kind.value
        d["ecosystem"] = item.ecosystem.value
        d["repository_ids"] = list(item.repository_ids)
        return d
    if isinstance(item, Distribution):
        d = dataclasses.asdict(item)
        d["id_like"] = list(item.id_like)
        return d
    return item


class Indexer:
    def __init__(
        self,
        store: IndexStore | None = None,
        analysers: Sequence[Analyser[Package]] = PACKAGE_ANALYSERS,
        limits: Limits = DEFAULT_LIMITS,
    ) -> None:
        self.store = store
        self.package_analysers = tuple(analysers)
        self.limits = limits
        self.all: tuple[AnyAnalyser, ...] = (
            *cast(tuple[AnyAnalyser, ...], self.package_analysers),
            cast(AnyAnalyser, DISTRIBUTION_DETECTOR),
            cast(AnyAnalyser, CONTENT_MANIFESTS),
        )
        self._patterns = {a.name: compile_patterns(list(a.patterns)) for a in self.all}
        self.fingerprint = hashlib.sha256(
            json.dumps(
                sorted([f"{a.name}@{a.version}" for a in self.all] + [str(LAYERFS)])
            ).encode()
        ).hexdigest()[:16]
        self.layers_read: list[str] = []  # diff_ids fetched by the last index() (for tests)

    # -- public ----------------------------------------------------------------------------

    def index(self, source: ImageSource, *, force: bool = False) -> IndexReport:
        """The index report of ``source``; with ``force`` a stored report is not reused
        (cached layer results still are)."""
        self.layers_read = []
        resolved = source.resolve()
        ids = diff_ids(resolved.config, resolved.name)
        if len(ids) != len(resolved.layers):
            raise ImageSourceError(
                f"Image {resolved.name}: the manifest has {len(resolved.layers)} layers but the "
                f"config has {len(ids)} diff_ids."
            )
        if self.store is not None and not force:
            cached = self.store.report(resolved.manifest_digest, self.fingerprint)
            if cached is not None:
                logger.info("index report for %s found in the store", resolved.manifest_digest)
                return dataclasses.replace(
                    cached,
                    image=resolved.name,
                    red_hat_image=is_red_hat_image(cached.metadata, resolved.name),
                )
        work = self._plan(resolved, ids)
        for item in work:
            if item.missing or item.facts is None:
                # Images indexed at once often share base layers: the first reads a layer,
                # the others wait for it and take its results from the store.
                with _layer_lock(item.diff_id):
                    if self.store is not None:
                        self._refresh(item)
                    if item.missing or item.facts is None:
                        self._read(source, resolved, item)
        report = self._assemble(resolved, ids, work)
        if self.store is not None:
            self.store.put_report(report, self.fingerprint)
        return report

    # -- steps -----------------------------------------------------------------------------

    def _plan(self, resolved: ResolvedImage, ids: tuple[str, ...]) -> list[_LayerWork]:
        cached: dict[LayerKey, object] = (
            self.store.layer_results(set(ids)) if self.store is not None else {}
        )
        work = []
        for i, (desc, diff_id) in enumerate(zip(resolved.layers, ids, strict=True)):
            facts, results, missing = self._cached_state(cached, diff_id)
            work.append(_LayerWork(i, desc, diff_id, facts, results, missing))
        return work

    def _cached_state(
        self, cached: dict[LayerKey, object], diff_id: str
    ) -> tuple[LayerFacts | None, dict[str, dict[str, list[object]]], list[AnyAnalyser]]:
        facts_raw = cached.get((diff_id, *LAYERFS))
        facts = None
        if isinstance(facts_raw, dict):
            facts = LayerFacts(
                tuple(facts_raw.get("whiteouts", ())),
                tuple(facts_raw.get("opaque_dirs", ())),
                dict(facts_raw.get("symlinks", {})),
            )
        results: dict[str, dict[str, list[object]]] = {}
        missing = []
        for a in self.all:
            hit = cached.get((diff_id, a.name, a.version))
            if isinstance(hit, dict):
                results[a.name] = hit
            else:
                missing.append(a)
        return facts, results, missing

    def _refresh(self, item: _LayerWork) -> None:
        """Take what another index stored for this layer since the plan was made."""
        assert self.store is not None
        facts, results, missing = self._cached_state(
            self.store.layer_results({item.diff_id}), item.diff_id
        )
        item.facts = item.facts or facts
        for name, result in results.items():
            item.results.setdefault(name, result)
        item.missing = [a for a in item.missing if a in missing]

    def _read(self, source: ImageSource, resolved: ResolvedImage, item: _LayerWork) -> None:
        missing = item.missing
        combined = compile_patterns([p for a in missing for p in a.patterns])
        match = combined.fullmatch

        def want(path: str, info: tarfile.TarInfo) -> bool:
            return match(path) is not None

        markers = tuple(m for a in missing for m in getattr(a, "binary_markers", ()))
        contents = self._stream(source, resolved, item, want, markers)
        if contents.pending_links:
            # wanted paths hard-linked to files nobody asked for: a second pass fetches them
            targets = set(contents.pending_links.values())
            extra = self._stream(source, resolved, item, lambda p, _: p in targets, ())
            for path, target in contents.pending_links.items():
                if target in extra.files:
                    contents.files[path] = extra.files[target]
        self.layers_read.append(item.diff_id)
        rows: dict[LayerKey, object] = {}
        facts = LayerFacts(
            tuple(contents.whiteouts), tuple(contents.opaque_dirs), dict(contents.symlinks)
        )
        item.facts = facts
        rows[(item.diff_id, *LAYERFS)] = {
            "whiteouts": list(facts.whiteouts),
            "opaque_dirs": list(facts.opaque_dirs),
            "symlinks": facts.symlinks,
        }
        for a in missing:
            result = self._run(a, contents)
            item.results[a.name] = result
            rows[(item.diff_id, a.name, a.version)] = result
        item.missing = []
        if self.store is not None:
            self.store.put_layer_results(rows)

    def _stream(
        self,
        source: ImageSource,
        resolved: ResolvedImage,
        item: _LayerWork,
        want: Callable[[str, tarfile.TarInfo], bool],
        markers: tuple[bytes, ...],
    ) -> LayerContents:
        """One verified pass over the layer blob."""
        where = f"Image {resolved.name}, layer {item.diff_id}"
        raw = source.open_blob(item.desc)
        try:
            verifying = None
            blob = raw
            if getattr(source, "blob_digests_known", True):
                verifying = VerifyingReader(
                    raw,
                    item.desc.digest,
                    item.desc.size,
                    resolved.name,
                    f"layer {item.desc.digest}",
                )
                blob = verifying  # type: ignore[assignment]
            try:
                contents = _read_layer(
                    blob,
                    want,
                    diff_id=item.diff_id,
                    where=where,
                    limits=self.limits,
                    executables=markers,
                )
                if verifying is not None:
                    verifying.drain()
            except IndexerError as exc:
                if isinstance(exc, ImageSourceError) and item.desc.digest not in exc.message:
                    raise type(exc)(f"{exc.message.rstrip('.')} ({where}).") from exc
                raise
        finally:
            raw.close()
        return contents

    def _run(self, analyser: AnyAnalyser, contents: LayerContents) -> dict[str, list[object]]:
        pattern = self._patterns[analyser.name]
        binaries = contents.executables if getattr(analyser, "binary_markers", ()) else set()
        files = {p: d for p, d in contents.files.items() if p in binaries or pattern.fullmatch(p)}
        if not files and not binaries:
            return {}
        try:
            found = analyser.analyse(files) if files else {}
        except Exception:  # one broken file must not lose the image: log and record nothing
            logger.exception("analyser %s failed", analyser.name)
            found = {}
        out: dict[str, list[object]] = {p: [] for p in (*files, *binaries)}
        for path, items in found.items():
            out[path] = [_to_plain(x) for x in items]
        return out

    # -- merge -----------------------------------------------------------------------------

    @staticmethod
    def _merge(
        work: list[_LayerWork], name: str, decode: Callable[[object], T]
    ) -> dict[str, list[tuple[int, T]]]:
        state: dict[str, list[tuple[int, T]]] = {}
        for item in work:
            facts = item.facts
            assert facts is not None
            if item.index > 0 and state:
                _apply_removals(state, facts)
            for path, plain in item.results.get(name, {}).items():
                previous = {x: layer for layer, x in state.get(path, [])}
                entries = []
                for raw in plain:
                    value = decode(raw)
                    entries.append((previous.get(value, item.index), value))
                state[path] = entries
        return state

    def _assemble(
        self, resolved: ResolvedImage, ids: tuple[str, ...], work: list[_LayerWork]
    ) -> IndexReport:
        name = resolved.name
        # symlinks of the merged filesystem, each with the layer that made it
        links: dict[str, list[tuple[int, str]]] = {}
        for item in work:
            assert item.facts is not None
            if item.index > 0 and links:
                _apply_removals(links, item.facts)
            for p, target in item.facts.symlinks.items():
                links[p] = [(item.index, target)]
        flat_links = {p: v[0][1] for p, v in links.items()}

        dists = self._merge(work, DISTRIBUTION_DETECTOR.name, _decode_dist)
        distribution = None
        for candidate in PRIORITY:
            first = links.get(candidate)
            where = f"Image {name}, layer {ids[first[0][0]] if first else ids[-1]}"
            real = resolve_symlinks(candidate, flat_links, self.limits, where)
            if real is None:
                logger.warning("%s: %s links outside the image; not followed", where, candidate)
                continue
            found = dists.get(real)
            if found:
                distribution = found[0][1]
                break

        packages: list[Package] = []
        for analyser in self.package_analysers:
            merged = self._merge(work, analyser.name, _decode_pkg)
            for path in sorted(merged):
                for layer_index, pkg in merged[path]:
                    packages.append(dataclasses.replace(pkg, layer=ids[layer_index]))

        distroless = any(p.path.startswith("var/lib/dpkg/status.d/") for p in packages)
        if distroless:
            if distribution is None:
                distribution = Distribution(did="debian", name="Debian GNU/Linux")
            if distribution.did == "debian":
                distribution = dataclasses.replace(distribution, variant="distroless")

        repos_by_layer: dict[int, list[str]] = {}
        for entries in self._merge(work, CONTENT_MANIFESTS.name, str).values():
            for layer_index, repo in entries:
                repos_by_layer.setdefault(layer_index, []).append(repo)
        layer_of = {d: i for i, d in enumerate(ids)}
        final = []
        for original in packages:
            pkg = original
            if pkg.kind is PackageKind.OS:
                pkg = dataclasses.replace(
                    pkg, purl=os_purl(pkg.ecosystem, pkg.name, pkg.version, pkg.arch, distribution)
                )
                if pkg.ecosystem is Ecosystem.RPM:
                    repos = repos_by_layer.get(layer_of[pkg.layer])
                    if repos:
                        pkg = dataclasses.replace(pkg, repository_ids=tuple(sorted(set(repos))))
            final.append(pkg)

        metadata = image_metadata(resolved.config, name)
        return IndexReport(
            manifest_digest=resolved.manifest_digest,
            image=name,
            metadata=metadata,
            layers=tuple(
                Layer(d.digest, diff_id, d.media_type, max(d.size, 0))
                for d, diff_id in zip(resolved.layers, ids, strict=True)
            ),
            distributions=(distribution,) if distribution is not None else (),
            packages=tuple(final),
            red_hat_image=is_red_hat_image(metadata, name),
        )


_LAYER_LOCKS = tuple(threading.Lock() for _ in range(256))


def _layer_lock(diff_id: str) -> threading.Lock:
    """A lock per layer (striped: bounded memory; one held at a time, so no deadlock)."""
    return _LAYER_LOCKS[int(hashlib.sha256(diff_id.encode()).hexdigest()[:8], 16) % 256]


def _apply_removals(state: dict[str, list[tuple[int, T]]], facts: LayerFacts) -> None:
    """Drop lower-layer entries that ``facts`` (a higher layer) deletes or hides."""
    gone = set(facts.whiteouts)
    hidden_dirs = gone | set(facts.opaque_dirs) | set(facts.symlinks)
    replaced = gone | set(facts.symlinks)
    if not hidden_dirs:
        return
    for path in list(state):
        if path in replaced:
            del state[path]
            continue
        parent = path
        while "/" in parent:
            parent = parent.rsplit("/", 1)[0]
            if parent in hidden_dirs:
                del state[path]
                break


def _decode_pkg(raw: object) -> Package:
    return package_from_dict(cast(dict[str, object], raw))


def _decode_dist(raw: object) -> Distribution:
    return distribution_from_dict(cast(dict[str, object], raw))

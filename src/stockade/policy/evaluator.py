"""The compiled evaluator.

``compile_policies`` validates each policy once and turns every section into a small tree of
nodes, one per level of the object tree its criteria need (see ``criteria``). Evaluating an
object walks that tree: a node matches an element when all its groups match the element and
every child node matches at least one child element. That is what makes the groups of one
section match *the same* container, component or CVE.

Facts are shared: within one evaluation each element's field values are extracted once for
all policies, and the result of every image subtree is cached by image digest across
evaluations (``warm`` evaluation never re-reads an image it has seen).
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from stockade.model.deployment import Container, Deployment
from stockade.model.image import Image
from stockade.model.runtime import (
    AuditEvent,
    FileAccess,
    KubernetesEvent,
    NetworkFlow,
    ProcessIndicator,
)
from stockade.policy import scope as scoping
from stockade.policy.criteria import PARENT, FieldSpec, ImageView, Level, ancestors
from stockade.policy.imagefacts import ImageFacts
from stockade.policy.model import EventSource, LifecycleStage, Policy
from stockade.policy.validate import ResolvedGroup, resolve_policy
from stockade.policy.values import Matcher, WordMatcher
from stockade.policy.violations import Violation, describe_path

logger = logging.getLogger(__name__)

MAX_MATCHES_PER_SECTION = 50
IMAGE_CACHE_SIZE = 20_000  # images whose section results are kept
FACTS_CACHE_SIZE = 2_000  # images whose extracted facts are kept

_Paths = list[list[tuple["_Node", object]]]


def _any_match(m: Matcher, values: tuple[object, ...]) -> bool:
    return any(map(m, values))


def _merge_words(matchers: tuple[Matcher, ...]) -> tuple[Matcher, ...]:
    """OR of several word sets (e.g. two CVE ids) is one word set."""
    if len(matchers) > 1 and all(isinstance(m, WordMatcher) for m in matchers):
        return (WordMatcher("|".join(w for m in matchers for w in sorted(m.words))),)  # type: ignore[attr-defined]
    return matchers


class _Group:
    """One compiled policy group: field, value matchers, operator, negation.

    ``test`` is specialised at compile time; the common case (one value, OR, not negated)
    is a single ``any(map(...))``.
    """

    __slots__ = ("field", "group", "matchers", "simple", "spec", "test")

    def __init__(self, resolved: ResolvedGroup) -> None:
        self.spec = resolved.spec
        self.field = resolved.spec.name
        self.group = resolved.group
        self.matchers = resolved.matchers
        conjunction = resolved.group.boolean_operator == "AND"
        negate = resolved.group.negate
        flip = resolved.spec.absent_is_match
        merge = not conjunction and not flip
        matchers = _merge_words(resolved.matchers) if merge else resolved.matchers
        test: Callable[[tuple[object, ...] | None], bool]
        self.simple: Matcher | None = None
        if len(matchers) == 1 and not negate and not flip:
            only = self.simple = matchers[0]

            def test(values: tuple[object, ...] | None) -> bool:
                return values is not None and any(map(only, values))

        else:

            def test(values: tuple[object, ...] | None) -> bool:
                if values is None:
                    return False
                if conjunction:
                    result = all(_any_match(m, values) != flip for m in matchers)
                else:
                    result = any(_any_match(m, values) != flip for m in matchers)
                return result != negate

        self.test = test


@dataclass(slots=True)
class _Node:
    level: Level
    groups: list[_Group]
    children: list[_Node]
    key: int = 0  # unique per node, for the image cache
    # a container node without criteria of its own whose only child is the image node:
    # walked straight to the image's cached result
    image_only: _Node | None = None


@dataclass(slots=True)
class _Section:
    name: str
    root: _Node


@dataclass(slots=True)
class CompiledPolicy:
    policy: Policy
    sections: list[_Section]
    image_sections: list[_Section]  # rooted at IMAGE; empty if any criterion is not an image one
    scope_key: tuple[object, ...] = ()  # equal for policies with the same scopes and exclusions

    @property
    def name(self) -> str:
        return self.policy.name


class _Context:
    """One evaluation: the runtime event (if any), image lookup and the per-element fact cache."""

    __slots__ = ("facts", "file", "flow", "image_results", "images", "keep", "kube_event",
                 "only_container", "process", "views")  # fmt: skip

    def __init__(
        self,
        images: Mapping[str, Image],
        process: ProcessIndicator | None = None,
        file: FileAccess | None = None,
        kube_event: KubernetesEvent | None = None,
        flow: NetworkFlow | None = None,
    ) -> None:
        self.images = images
        self.process = process
        self.file = file
        self.kube_event = kube_event
        self.flow = flow
        self.facts: dict[str, dict[int, tuple[object, ...] | None]] = {}
        self.views: dict[int, ImageView] = {}
        self.image_results: dict[int, dict[int, _Paths]] = {}
        self.keep: list[object] = []  # objects whose id() is a cache key stay alive
        self.only_container = (
            file.container_name if file is not None else process.container_name if process else None
        )

    def values(self, spec: FieldSpec, element: object) -> tuple[object, ...] | None:
        """The field's values for ``element``, extracted once per evaluation."""
        per_field = self.facts.get(spec.name)
        if per_field is None:
            per_field = self.facts[spec.name] = {}
        key = id(element)
        if key in per_field:
            return per_field[key]
        got = per_field[key] = spec.extract(element)
        return got

    def image_view(self, container: Container) -> ImageView:
        view = self.views.get(id(container))
        if view is None:
            images = self.images
            image = images.get(container.image_id) if container.image_id else None
            if image is None and images:
                image = images.get(container.image.full_name) or images.get(container.name)
            view = ImageView.of(container.image, image, container.name)
            self.views[id(container)] = view
            self.keep.append(container)
        return view

    def children(self, level: Level, element: object) -> Sequence[object]:
        if level is Level.CONTAINER:
            assert isinstance(element, Deployment)
            if self.only_container is None:
                return element.containers
            return [c for c in element.containers if c.name == self.only_container]
        if level is Level.ENV:
            assert isinstance(element, Container)
            return element.env
        if level is Level.VOLUME:
            assert isinstance(element, Container)
            return element.volumes
        if level is Level.PORT:
            assert isinstance(element, Container)
            return element.ports
        if level is Level.PROCESS:
            return (self.process,) if self.process is not None else ()
        if level is Level.FILE:
            return (self.file,) if self.file is not None else ()
        if level is Level.KUBE_EVENT:
            return (self.kube_event,) if self.kube_event is not None else ()
        if level is Level.NETWORK_FLOW:
            return (self.flow,) if self.flow is not None else ()
        return ()


_node_keys = itertools.count(1)
_NO_FACTS = ImageFacts(None)
_NONE: _Paths = []


def _build_tree(groups: list[ResolvedGroup], root: Level) -> _Node | None:
    """The node tree for one section rooted at ``root``; None if a field is outside it."""
    needed: set[Level] = set()
    for g in groups:
        chain = ancestors(g.spec.level)
        if root not in chain:
            return None
        needed.update(chain[chain.index(root) :])
    nodes = {lvl: _Node(lvl, [], [], next(_node_keys)) for lvl in needed}
    for g in groups:
        nodes[g.spec.level].groups.append(_Group(g))
    for lvl, node in nodes.items():
        parent = PARENT[lvl]
        if lvl is not root and parent is not None:
            nodes[parent].children.append(node)
    # cheapest checks first: own groups before children, children with groups first
    for node in nodes.values():
        node.children.sort(key=lambda n: (0 if n.groups else 1, n.level.value))
        if (
            node.level is Level.CONTAINER
            and not node.groups
            and len(node.children) == 1
            and node.children[0].level is Level.IMAGE
        ):
            node.image_only = node.children[0]
    return nodes[root]


def compile_policy(policy: Policy, now: Callable[[], dt.datetime]) -> CompiledPolicy:
    resolved = resolve_policy(policy, now)
    sections: list[_Section] = []
    image_sections: list[_Section] = []
    image_ok = True
    for index, groups in enumerate(resolved):
        name = policy.sections[index].section_name or f"#{index + 1}"
        root_level = ancestors(groups[0].spec.level)[0]
        tree = _build_tree(groups, root_level)
        if tree is None:
            # fields from different roots (e.g. audit + deployment) cannot match together
            continue
        sections.append(_Section(name, tree))
        image_tree = _build_tree(groups, Level.IMAGE)
        if image_tree is None:
            image_ok = False
        else:
            image_sections.append(_Section(name, image_tree))
    # repr: exclusions may carry unknown JSON keys (unhashable); equal text means equal scoping
    scope_key = (
        (repr((policy.scope, policy.exclusions)),) if policy.scope or policy.exclusions else ()
    )
    return CompiledPolicy(policy, sections, image_sections if image_ok else [], scope_key)


class CompiledPolicySet:
    """Policies compiled once; evaluate deployments, images and runtime events against them."""

    def __init__(
        self,
        policies: Iterable[Policy],
        *,
        now: Callable[[], dt.datetime] | None = None,
        include_disabled: bool = False,
    ) -> None:
        self._now = now or (lambda: dt.datetime.now(dt.UTC))
        self.policies: list[CompiledPolicy] = [
            compile_policy(p, self._now) for p in policies if include_disabled or not p.disabled
        ]
        self._facts: OrderedDict[str, ImageFacts] = OrderedDict()
        # image (digest + reference) -> section node -> how the image satisfies it
        self._path_cache: OrderedDict[tuple[str, str], dict[int, _Paths]] = OrderedDict()
        self.cache_hits = 0
        self.cache_misses = 0

        def select(
            stage: LifecycleStage, source: EventSource | None = None
        ) -> list[CompiledPolicy]:
            out = []
            for cp in self.policies:
                if stage not in cp.policy.lifecycle_stages:
                    continue
                if source is not None:
                    src = cp.policy.event_source
                    if src is EventSource.NOT_APPLICABLE:
                        src = EventSource.DEPLOYMENT_EVENT
                    if src is not source:
                        continue
                out.append(cp)
            return out

        self._build = select(LifecycleStage.BUILD)
        self._deploy = select(LifecycleStage.DEPLOY)
        self._runtime = select(LifecycleStage.RUNTIME, EventSource.DEPLOYMENT_EVENT)
        self._audit = select(LifecycleStage.RUNTIME, EventSource.AUDIT_LOG_EVENT)

    def __len__(self) -> int:
        return len(self.policies)

    # ---- matching ------------------------------------------------------------------------

    def _paths(self, node: _Node, element: object, ctx: _Context) -> _Paths:
        """Every way ``element`` satisfies ``node`` (bounded); empty when it does not."""
        values = ctx.values
        for g in node.groups:
            if not g.test(values(g.spec, element)):
                return _NONE
        combos: _Paths = [[(node, element)]]
        for child in node.children:
            if child.level is Level.IMAGE:
                assert isinstance(element, Container)
                found = self._image_paths(child, ctx.image_view(element), ctx)
            elif child.image_only is not None:
                found = []
                image_node = child.image_only
                for c in ctx.children(child.level, element):
                    assert isinstance(c, Container)
                    sub = self._image_paths(image_node, ctx.image_view(c), ctx)
                    if sub:
                        found.extend([(child, c), *path] for path in sub)
                        if len(found) >= MAX_MATCHES_PER_SECTION:
                            break
            else:
                found = []
                for c in ctx.children(child.level, element):
                    sub = self._paths(child, c, ctx)
                    if sub:
                        found.extend(sub)
                        if len(found) >= MAX_MATCHES_PER_SECTION:
                            break
            if not found:
                return _NONE
            if len(found) == 1 and len(combos) == 1:
                combos = [combos[0] + found[0]]
            else:
                combos = [a + b for a in combos for b in found][:MAX_MATCHES_PER_SECTION]
        return combos

    def _image_paths(self, node: _Node, view: ImageView, ctx: _Context) -> _Paths:
        """How ``view`` satisfies the image subtree ``node``; cached by image digest."""
        if view.image is None:
            return self._image_tree(node, view, _NO_FACTS)
        results = ctx.image_results.get(id(view))
        if results is None:
            results = self._path_cache.get(view.key)
            if results is None:
                results = self._path_cache[view.key] = {}
                if len(self._path_cache) > IMAGE_CACHE_SIZE:
                    self._path_cache.popitem(last=False)
            ctx.image_results[id(view)] = results
        got = results.get(node.key)
        if got is not None:
            self.cache_hits += 1
            return got
        self.cache_misses += 1
        facts = self._facts.get(view.key[0])
        if facts is None:
            facts = ImageFacts(view.image)
            self._facts[view.key[0]] = facts
            if len(self._facts) > FACTS_CACHE_SIZE:
                self._facts.popitem(last=False)
        got = results[node.key] = self._image_tree(node, view, facts)
        return got

    def _image_tree(self, node: _Node, view: ImageView, facts: ImageFacts) -> _Paths:
        for g in node.groups:
            if not g.test(g.spec.extract(view)):
                return []
        combos: _Paths = [[(node, view)]]
        for child in node.children:
            found = self._level_paths(child, facts)
            if not found:
                return []
            combos = [a + b for a in combos for b in found][:MAX_MATCHES_PER_SECTION]
        return combos

    def _level_paths(self, node: _Node, facts: ImageFacts) -> _Paths:
        elems = facts.elements(node.level)
        mask = facts.mask(node.level, [(g.spec, g.test, g.simple) for g in node.groups])
        out: _Paths = []
        cve_node = next((c for c in node.children if c.level is Level.CVE), None)
        if node.level is Level.COMPONENT and cve_node is not None:
            cve_mask = facts.mask(Level.CVE, [(g.spec, g.test, g.simple) for g in cve_node.groups])
            owners = facts.owners
            for j, ok in enumerate(cve_mask):
                if ok and mask[owners[j]]:
                    out.append([(node, elems[owners[j]]), (cve_node, facts.cves[j])])
                    if len(out) >= MAX_MATCHES_PER_SECTION:
                        break
            return out
        for i, ok in enumerate(mask):
            if ok:
                out.append([(node, elems[i])])
                if len(out) >= MAX_MATCHES_PER_SECTION:
                    break
        return out

    def clear_image_cache(self) -> None:
        """Forget every cached image fact (the next evaluation of each image is cold)."""
        self._facts.clear()
        self._path_cache.clear()

    def _violations(
        self, cp: CompiledPolicy, sections: list[_Section], root: object, ctx: _Context,
        in_deployment: bool,
    ) -> Violation | None:  # fmt: skip
        found: list[_Paths] = []
        for section in sections:
            if section.root.level is Level.IMAGE:
                assert isinstance(root, ImageView)
                paths = self._image_paths(section.root, root, ctx)
            else:
                paths = self._paths(section.root, root, ctx)
            if paths:
                found.append(paths)
        if not found:
            return None

        def render() -> tuple[str, ...]:
            messages: dict[str, None] = {}
            for paths in found:
                for path in paths:
                    steps = [
                        (n.level, [g.spec for g in n.groups], [g.group for g in n.groups], e)
                        for n, e in path
                    ]
                    messages[describe_path(steps, in_deployment)] = None
            return tuple(messages)

        return Violation(cp.policy, render=render)

    # ---- public API ----------------------------------------------------------------------

    def evaluate_deployment(
        self,
        deployment: Deployment,
        images: Mapping[str, Image] | None = None,
        *,
        stage: LifecycleStage = LifecycleStage.DEPLOY,
    ) -> list[Violation]:
        """Deploy-stage policies against one deployment.

        ``images`` maps an image digest, full image name or container name to its facts;
        containers whose image is not there are judged on their image reference alone.
        """
        policies = self._deploy if stage is LifecycleStage.DEPLOY else self._runtime
        return self._evaluate_in_deployment(policies, deployment, _Context(images or {}))

    def _evaluate_in_deployment(
        self, policies: list[CompiledPolicy], deployment: Deployment, ctx: _Context
    ) -> list[Violation]:
        out = []
        now = self._now()
        scoped: dict[tuple[object, ...], Deployment | None] = {(): deployment}
        for cp in policies:
            key = cp.scope_key
            if key in scoped:
                subject = scoped[key]
            else:
                subject = scoped[key] = scoping.apply(cp.policy, deployment, now)
                if subject is not None and subject is not deployment:
                    ctx.keep.append(subject)  # ids in the fact cache must stay unique
            if subject is None:
                continue
            violation = self._violations(cp, cp.sections, subject, ctx, True)
            if violation is not None:
                out.append(violation)
        return out

    def evaluate_image(self, image: Image) -> list[Violation]:
        """Build-stage policies against one image (no deployment around it)."""
        ctx = _Context({})
        view = ImageView.of(image.name, image)
        out = []
        now = self._now()
        for cp in self._build:
            if not cp.image_sections or scoping.image_excluded(cp.policy, image.name, now):
                continue
            violation = self._violations(cp, cp.image_sections, view, ctx, False)
            if violation is not None:
                out.append(violation)
        return out

    def evaluate_process(
        self,
        deployment: Deployment,
        process: ProcessIndicator,
        images: Mapping[str, Image] | None = None,
    ) -> list[Violation]:
        """Runtime (deployment-event) policies against one process execution."""
        ctx = _Context(images or {}, process=process)
        return self._evaluate_in_deployment(self._runtime, deployment, ctx)

    def evaluate_file_access(
        self, deployment: Deployment, access: FileAccess, images: Mapping[str, Image] | None = None
    ) -> list[Violation]:
        ctx = _Context(images or {}, file=access, process=access.process)
        return self._evaluate_in_deployment(self._runtime, deployment, ctx)

    def evaluate_kubernetes_event(
        self, deployment: Deployment, event: KubernetesEvent
    ) -> list[Violation]:
        ctx = _Context({}, kube_event=event)
        return self._evaluate_in_deployment(self._runtime, deployment, ctx)

    def evaluate_network_flow(self, deployment: Deployment, flow: NetworkFlow) -> list[Violation]:
        ctx = _Context({}, flow=flow)
        return self._evaluate_in_deployment(self._runtime, deployment, ctx)

    def evaluate_audit_event(self, event: AuditEvent) -> list[Violation]:
        ctx = _Context({})
        out = []
        for cp in self._audit:
            violation = self._violations(cp, cp.sections, event, ctx, False)
            if violation is not None:
                out.append(violation)
        return out


def compile_policies(
    policies: Iterable[Policy],
    *,
    now: Callable[[], dt.datetime] | None = None,
    include_disabled: bool = False,
) -> CompiledPolicySet:
    """Validate and compile; raises PolicyValidationError naming the first bad criterion."""
    return CompiledPolicySet(policies, now=now, include_disabled=include_disabled)

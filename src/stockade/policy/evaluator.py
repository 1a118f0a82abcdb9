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
from dataclasses import dataclass, field

from stockade.model.deployment import Container, Deployment
from stockade.model.image import Component, Image
from stockade.model.runtime import (
    AuditEvent,
    FileAccess,
    KubernetesEvent,
    NetworkFlow,
    ProcessIndicator,
)
from stockade.policy import scope as scoping
from stockade.policy.criteria import PARENT, FieldSpec, ImageView, Level, ancestors
from stockade.policy.model import EventSource, LifecycleStage, Policy
from stockade.policy.validate import ResolvedGroup, resolve_policy
from stockade.policy.violations import Violation, describe_path

logger = logging.getLogger(__name__)

MAX_MATCHES_PER_SECTION = 50
IMAGE_CACHE_SIZE = 200_000


class _Group:
    """One compiled policy group: field, value matchers, operator, negation."""

    __slots__ = ("absent_is_match", "conjunction", "field", "group", "matchers", "negate", "spec")

    def __init__(self, resolved: ResolvedGroup) -> None:
        self.spec = resolved.spec
        self.field = resolved.spec.name
        self.group = resolved.group
        self.matchers = resolved.matchers
        self.conjunction = resolved.group.boolean_operator == "AND"
        self.negate = resolved.group.negate
        self.absent_is_match = resolved.spec.absent_is_match

    def test(self, values: tuple[object, ...] | None) -> bool:
        if values is None:
            return False
        flip = self.absent_is_match
        if self.conjunction:
            result = all(any(m(x) for x in values) != flip for m in self.matchers)
        else:
            result = any(any(m(x) for x in values) != flip for m in self.matchers)
        return result != self.negate


@dataclass(slots=True)
class _Node:
    level: Level
    groups: list[_Group]
    children: list[_Node]
    key: int = 0  # unique per node, for the image cache


@dataclass(slots=True)
class _Section:
    name: str
    root: _Node


@dataclass(slots=True)
class CompiledPolicy:
    policy: Policy
    sections: list[_Section]
    image_sections: list[_Section]  # rooted at IMAGE; empty if any criterion is not an image one

    @property
    def name(self) -> str:
        return self.policy.name


@dataclass(slots=True)
class _Context:
    """One evaluation: the runtime event (if any), image lookup and the per-element fact cache."""

    images: Mapping[str, Image]
    process: ProcessIndicator | None = None
    file: FileAccess | None = None
    kube_event: KubernetesEvent | None = None
    flow: NetworkFlow | None = None
    facts: dict[tuple[int, str], tuple[object, ...] | None] = field(default_factory=dict)
    views: dict[int, ImageView] = field(default_factory=dict)
    keep: list[object] = field(default_factory=list)

    def values(self, spec: FieldSpec, element: object) -> tuple[object, ...] | None:
        key = (id(element), spec.name)
        if key in self.facts:
            return self.facts[key]
        got = spec.extract(element)
        self.facts[key] = got
        return got

    def image_view(self, container: Container) -> ImageView:
        view = self.views.get(id(container))
        if view is None:
            image = None
            if container.image_id:
                image = self.images.get(container.image_id)
            if image is None:
                image = self.images.get(container.image.full_name)
            if image is None:
                image = self.images.get(container.name)
            view = ImageView(container.image, image, container.name)
            self.views[id(container)] = view
            self.keep.append(view)
        return view

    def children(self, level: Level, element: object) -> Sequence[object]:
        if level is Level.CONTAINER:
            assert isinstance(element, Deployment)
            want = self.process.container_name if self.process else None
            if self.file is not None:
                want = self.file.container_name
            if want is None:
                return element.containers
            return [c for c in element.containers if c.name == want]
        if level is Level.IMAGE:
            assert isinstance(element, Container)
            return (self.image_view(element),)
        if level is Level.COMPONENT:
            assert isinstance(element, ImageView)
            return element.image.components if element.image is not None else ()
        if level is Level.CVE:
            assert isinstance(element, Component)
            return element.vulnerabilities
        if level is Level.DOCKERFILE:
            assert isinstance(element, ImageView)
            return element.image.dockerfile if element.image is not None else ()
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
    return CompiledPolicy(policy, sections, image_sections if image_ok else [])


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
        self._image_cache: OrderedDict[tuple[int, str, str], bool] = OrderedDict()
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

    def _match(self, node: _Node, element: object, ctx: _Context) -> bool:
        for g in node.groups:
            if not g.test(ctx.values(g.spec, element)):
                return False
        for child in node.children:
            if child.level is Level.IMAGE:
                assert isinstance(element, Container)
                if not self._match_image(child, ctx.image_view(element), ctx):
                    return False
                continue
            if not any(self._match(child, c, ctx) for c in ctx.children(child.level, element)):
                return False
        return True

    def _match_image(self, node: _Node, view: ImageView, ctx: _Context) -> bool:
        if view.image is None:
            return self._match(node, view, ctx)
        key = (node.key, view.image.cache_key, view.name.full_name)
        cache = self._image_cache
        got = cache.get(key)
        if got is not None:
            self.cache_hits += 1
            return got
        self.cache_misses += 1
        got = self._match(node, view, ctx)
        cache[key] = got
        if len(cache) > IMAGE_CACHE_SIZE:
            cache.popitem(last=False)
        return got

    def _paths(
        self, node: _Node, element: object, ctx: _Context
    ) -> list[list[tuple[_Node, object]]]:
        """Every way ``element`` satisfies ``node`` (bounded), each a root-to-leaf path list."""
        for g in node.groups:
            if not g.test(ctx.values(g.spec, element)):
                return []
        combos: list[list[tuple[_Node, object]]] = [[(node, element)]]
        for child in node.children:
            found: list[list[tuple[_Node, object]]] = []
            for c in ctx.children(child.level, element):
                found.extend(self._paths(child, c, ctx))
                if len(found) >= MAX_MATCHES_PER_SECTION:
                    break
            if not found:
                return []
            combos = [a + b for a in combos for b in found][:MAX_MATCHES_PER_SECTION]
        return combos

    def _violations(
        self, cp: CompiledPolicy, sections: list[_Section], root: object, ctx: _Context,
        in_deployment: bool,
    ) -> Violation | None:  # fmt: skip
        matched = [s for s in sections if self._match(s.root, root, ctx)]
        if not matched:
            return None
        messages: list[str] = []
        for section in matched:
            for path in self._paths(section.root, root, ctx):
                text = describe_path(
                    [
                        (n.level, [g.spec for g in n.groups], [g.group for g in n.groups], e)
                        for n, e in path
                    ],
                    in_deployment,
                )
                if text not in messages:
                    messages.append(text)
        return Violation(cp.policy, tuple(messages))

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
        for cp in policies:
            subject = scoping.apply(cp.policy, deployment, now)
            if subject is None:
                continue
            if subject is not deployment:
                ctx.keep.append(subject)  # ids in the fact cache must stay unique
            violation = self._violations(cp, cp.sections, subject, ctx, True)
            if violation is not None:
                out.append(violation)
        return out

    def evaluate_image(self, image: Image) -> list[Violation]:
        """Build-stage policies against one image (no deployment around it)."""
        ctx = _Context({})
        view = ImageView(image.name, image)
        out = []
        now = self._now()
        for cp in self._build:
            if not cp.image_sections or scoping.image_excluded(cp.policy, image.name, now):
                continue
            matched = [s for s in cp.image_sections if self._match_image(s.root, view, ctx)]
            if not matched:
                continue
            violation = self._violations(cp, matched, view, ctx, False)
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

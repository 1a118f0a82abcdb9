"""Reading untrusted YAML: size limit, alias-expansion limit, no Python object tags.

PyYAML's safe loader shares aliased nodes, so a "billion laughs" document is small in memory
until something walks it. Before constructing a document we count the nodes it would have
with every alias expanded (memoised per node, linear in the document) and refuse it above a
limit; recursive aliases are refused outright.
"""

from __future__ import annotations

from collections.abc import Iterator

import yaml

from stockade.workload.errors import ManifestError

MAX_MANIFEST_BYTES = 8 * 1024 * 1024
MAX_EXPANDED_NODES = 2_000_000
MAX_DEPTH = 200

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _expanded_size(root: yaml.Node, where: str) -> int:
    sizes: dict[int, int] = {}
    in_progress: set[int] = set()

    def size(node: yaml.Node, depth: int) -> int:
        key = id(node)
        known = sizes.get(key)
        if known is not None:
            return known
        if key in in_progress:
            raise ManifestError(f"{where}: YAML has a recursive alias")
        if depth > MAX_DEPTH:
            raise ManifestError(f"{where}: YAML is nested more than {MAX_DEPTH} levels deep")
        in_progress.add(key)
        total = 1
        if isinstance(node, yaml.SequenceNode):
            for child in node.value:
                total += size(child, depth + 1)
        elif isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                total += size(k, depth + 1) + size(v, depth + 1)
        in_progress.discard(key)
        if total > MAX_EXPANDED_NODES:
            raise ManifestError(
                f"{where}: YAML expands to more than {MAX_EXPANDED_NODES:,} nodes "
                "(alias bomb?); refusing to read it"
            )
        sizes[key] = total
        return total

    return size(root, 0)


def load_documents(
    text: str | bytes, where: str = "input", max_bytes: int = MAX_MANIFEST_BYTES
) -> Iterator[object]:
    """Every document of a (multi-document) YAML or JSON stream, safely."""
    if len(text) > max_bytes:
        raise ManifestError(
            f"{where} is {len(text) / 2**20:.1f} MiB, over the {max_bytes / 2**20:.0f} MiB limit"
        )
    loader = _Loader(text)
    budget = MAX_EXPANDED_NODES
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            budget -= _expanded_size(node, where)
            if budget < 0:
                raise ManifestError(
                    f"{where}: YAML expands to more than {MAX_EXPANDED_NODES:,} nodes in total"
                )
            yield loader.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise ManifestError(f"{where} is not valid YAML{at}: {problem}") from exc
    except RecursionError as exc:
        raise ManifestError(f"{where}: YAML is nested too deeply") from exc
    finally:
        loader.dispose()

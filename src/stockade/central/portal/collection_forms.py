"""The collection form: one box per (level, way of matching), one value per line, <-> the
product's collection JSON (``resourceSelectors``, ``embeddedCollectionIds``).

The form writes one selector: at each level (cluster, namespace, deployment) the names,
regular expressions and labels given; a deployment must match every level that has values
(a level matches when any of its values does). Names and patterns of one level are one rule;
labels are the level's label rule. A collection written through the API with several
selectors, or a field twice in one selector, does not fit these boxes: its selectors are
shown read-only and kept as they are when the rest is edited.

The API's error paths (``resourceSelectors[0].rules[1].values[2].value``) are mapped back to
the box that value came from, so each error is shown beside it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import FormData

LEVELS = ("Cluster", "Namespace", "Deployment")
WAYS = (("names", "EXACT"), ("patterns", "REGEX"), ("labels", "EXACT"))
WAY_LABELS = {
    "names": "names (exact, one per line)",
    "patterns": "names matching a regular expression (one per line)",
    "labels": "labels (key=value, one per line)",
}


def box(level: str, way: str) -> str:
    """A box's input name (also its id): ``namespace-patterns``."""
    return f"{level.lower()}-{way}"


def _field_name(level: str, way: str) -> str:
    return f"{level} Label" if way == "labels" else level


@dataclass
class Draft:
    """What the form shows, and the collection document it stands for."""

    name: str = ""
    description: str = ""
    boxes: dict[str, str] = field(default_factory=dict)  # box name -> text
    embedded: list[str] = field(default_factory=list)
    locked_selectors: list[Any] | None = None  # API-written selectors the boxes cannot show
    # rule index -> the box each of its values came from, for mapping errors back
    origins: list[list[str]] = field(default_factory=list)

    def document(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "name": self.name,
            "description": self.description,
            "embeddedCollectionIds": self.embedded,
        }
        if self.locked_selectors is not None:
            doc["resourceSelectors"] = self.locked_selectors
            return doc
        rules: list[dict[str, Any]] = []
        self.origins = []
        for level in LEVELS:
            for fieldname in (level, f"{level} Label"):
                values, origin = [], []
                for way, match in WAYS:
                    if _field_name(level, way) != fieldname:
                        continue
                    for line in _lines(self.boxes.get(box(level, way), "")):
                        values.append({"value": line, "matchType": match})
                        origin.append(box(level, way))
                if values:
                    rules.append({"fieldName": fieldname, "operator": "OR", "values": values})
                    self.origins.append(origin)
        doc["resourceSelectors"] = [{"rules": rules}] if rules else []
        return doc

    def error_field(self, path: str) -> str:
        """The input an API error path belongs beside."""
        m = re.match(r"resourceSelectors\[0\]\.rules\[(\d+)\](?:\.values\[(\d+)\])?", path)
        if m and self.locked_selectors is None and int(m.group(1)) < len(self.origins):
            origin = self.origins[int(m.group(1))]
            k = int(m.group(2) or 0)
            return origin[k] if k < len(origin) else origin[0]
        if path.startswith("resourceSelectors"):
            return "selectors"
        if path.startswith("embedded"):
            return "embedded"
        if path in ("name", "description"):
            return path
        return "form"


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def from_form(form: FormData, stored: Mapping[str, Any] | None) -> Draft:
    def text(key: str) -> str:
        raw = form.get(key)
        return raw if isinstance(raw, str) else ""

    locked = from_stored(stored).locked_selectors if stored else None
    return Draft(
        name=text("name").strip(),
        description=text("description").strip(),
        boxes={box(lv, w): text(box(lv, w)) for lv in LEVELS for w, _ in WAYS},
        embedded=[e for e in form.getlist("embedded") if isinstance(e, str) and e],
        locked_selectors=locked,
    )


def from_stored(doc: Mapping[str, Any]) -> Draft:
    """A stored collection as the form shows it."""
    draft = Draft(
        name=str(doc.get("name", "")),
        description=str(doc.get("description", "")),
        embedded=[str(e["id"]) for e in doc.get("embeddedCollections", [])],
    )
    selectors = doc.get("resourceSelectors") or []
    if len(selectors) > 1:
        draft.locked_selectors = list(selectors)
        return draft
    boxes: dict[str, list[str]] = {}
    seen: set[str] = set()
    for rule in selectors[0]["rules"] if selectors else []:
        name = rule["fieldName"]
        if name in seen:
            draft.locked_selectors = list(selectors)
            return draft
        seen.add(name)
        level = name.removesuffix(" Label")
        for v in rule["values"]:
            way = (
                "labels"
                if name.endswith(" Label")
                else ("patterns" if v.get("matchType") == "REGEX" else "names")
            )
            boxes.setdefault(box(level, way), []).append(v["value"])
    draft.boxes = {k: "\n".join(v) for k, v in boxes.items()}
    return draft


def summary(doc: Mapping[str, Any]) -> list[str]:
    """One line per selector, for the list page: ``Cluster: prod; Namespace ~ sh.p``."""
    out = []
    for sel in doc.get("resourceSelectors") or []:
        parts = []
        for rule in sel.get("rules", []):
            values = ", ".join(
                ("~ " if v.get("matchType") == "REGEX" else "") + v["value"] for v in rule["values"]
            )
            parts.append(f"{rule['fieldName']}: {values}")
        out.append("; ".join(parts))
    return out

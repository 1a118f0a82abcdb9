"""Node.js: ``node_modules/**/package.json``, Debian's ``/usr/share/nodejs`` modules and
``package-lock.json``. A package.json without both name and version (sub-path markers such
as ``{"type": "module"}``) is not a package.

Lock-file entries are reported only where the lock's own ``node_modules`` tree is absent from
the layer (an installed tree is the better evidence, and reporting both would double count).
"""

from __future__ import annotations

import json
import posixpath

from stockade.model.index_report import Ecosystem, Package
from stockade.scanner.indexer.analysers.base import Files, language_package


def _split(name: str) -> tuple[str | None, str]:
    if name.startswith("@") and "/" in name:
        scope, _, bare = name.partition("/")
        return scope, bare
    return None, name


class NpmAnalyser:
    name = "npm"
    version = "2"
    patterns = (
        r"(?:.+/)?node_modules/(?:@[^/]+/)?[^/]+/package\.json",
        r"usr/share/nodejs/.+/package\.json",  # Debian's packaged node modules
        r"(?:.+/)?package-lock\.json",
    )

    def analyse(self, files: Files) -> dict[str, list[Package]]:
        out: dict[str, list[Package]] = {}
        for path, data in files.items():
            try:
                doc = json.loads(data)
            except (ValueError, UnicodeDecodeError):
                out[path] = []
                continue
            if not isinstance(doc, dict):
                out[path] = []
            elif path.endswith("package-lock.json"):
                out[path] = self._lock(path, doc, files)
            else:
                out[path] = self._package(path, doc)
        return out

    def _make(self, name: str, version: str, path: str) -> Package:
        scope, bare = _split(name)
        pkg = language_package(self, Ecosystem.NPM, bare, version, path, namespace=scope)
        return pkg

    def _package(self, path: str, doc: dict[str, object]) -> list[Package]:
        name, version = doc.get("name"), doc.get("version")
        if not isinstance(name, str) or not isinstance(version, str) or not name or not version:
            return []
        return [self._make(name, version, path)]

    def _lock(self, path: str, doc: dict[str, object], files: Files) -> list[Package]:
        base = posixpath.dirname(path)
        prefix = f"{base}/node_modules/" if base else "node_modules/"
        if any(p.startswith(prefix) for p in files):
            return []
        out = []
        packages = doc.get("packages")
        if isinstance(packages, dict):
            for key, entry in packages.items():
                if not key or not isinstance(entry, dict) or "node_modules/" not in key:
                    continue
                version = entry.get("version")
                name = entry.get("name") or key.rsplit("node_modules/", 1)[1]
                if isinstance(version, str) and isinstance(name, str) and not entry.get("link"):
                    out.append(self._make(name, version, path))
            return out
        deps = doc.get("dependencies")
        stack = [deps] if isinstance(deps, dict) else []
        while stack:
            level = stack.pop()
            for name, entry in level.items():
                if isinstance(entry, dict) and isinstance(entry.get("version"), str):
                    out.append(self._make(str(name), str(entry["version"]), path))
                    if isinstance(entry.get("dependencies"), dict):
                        stack.append(entry["dependencies"])
        return out

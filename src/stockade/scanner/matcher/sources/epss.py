"""FIRST EPSS scores: a CSV (usually gzip-compressed) ``cve,epss,percentile`` whose first
line is a ``#model_version:...,score_date:...`` comment."""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Iterator
from pathlib import Path

from stockade.model.vulnerability import Epss, Vulnerability
from stockade.scanner.matcher.sources.base import Download, FeedUpdater, iter_files, rel
from stockade.scanner.matcher.sources.errors import ParseError


class EpssUpdater(FeedUpdater):
    name = "epss"
    URL = "https://epss.empiricalsecurity.com/epss_scores-current.csv.gz"

    def downloads(self) -> list[Download]:
        return [Download(self.base_url, "epss_scores-current.csv.gz")]

    def parse(self, path: Path) -> Iterator[Vulnerability]:
        for file in iter_files(path, "*.csv*"):
            yield from self._parse_file(file, rel(file, path))

    def _parse_file(self, file: Path, name: str) -> Iterator[Vulnerability]:
        raw = file.read_bytes()
        try:
            text = gzip.decompress(raw).decode() if raw[:2] == b"\x1f\x8b" else raw.decode()
        except (OSError, EOFError, UnicodeDecodeError) as exc:
            raise ParseError(self.name, name, "", f"unreadable ({exc})") from exc
        lines = io.StringIO(text)
        score_date = ""
        first = lines.readline()
        if first.startswith("#"):
            for part in first[1:].strip().split(","):
                key, _, value = part.partition(":")
                if key == "score_date":
                    score_date = value[:10]
        else:
            lines.seek(0)
        reader = csv.DictReader(lines)
        if reader.fieldnames is None or not {"cve", "epss", "percentile"} <= set(reader.fieldnames):
            raise ParseError(self.name, name, "header", "expected columns cve,epss,percentile")
        for row in reader:
            lineno = reader.line_num + (1 if score_date else 0)
            try:
                cve = row["cve"]
                score = float(row["epss"])
                pct = float(row["percentile"])
            except (TypeError, ValueError) as exc:
                raise ParseError(self.name, name, f"line {lineno}", "malformed row") from exc
            if not cve or not cve.startswith("CVE-") or not (0 <= score <= 1 and 0 <= pct <= 1):
                raise ParseError(self.name, name, f"line {lineno}", f"malformed row {row!r}")
            yield Vulnerability(
                source=self.name, id=cve, epss=Epss(score=score, percentile=pct, date=score_date)
            )

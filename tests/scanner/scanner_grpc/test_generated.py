"""The committed gRPC code is what scripts/gen-proto.sh makes from proto/ now."""

from __future__ import annotations

import filecmp
import subprocess
from pathlib import Path

from .conftest import REPO

GENERATED = REPO / "src" / "stockade" / "scanner" / "v1"


def test_generated_code_matches_every_proto(tmp_path: Path) -> None:
    subprocess.run(["bash", str(REPO / "scripts" / "gen-proto.sh"), str(tmp_path)], check=True)
    fresh = tmp_path / "stockade" / "scanner" / "v1"
    names = sorted(p.name for p in fresh.iterdir())
    protos = sorted(
        p.stem for p in (REPO / "proto" / "stockade" / "scanner" / "v1").glob("*.proto")
    )
    assert names == sorted(
        f"{s}{x}" for s in protos for x in ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py")
    )
    committed = sorted(p.name for p in GENERATED.glob("*_pb2*"))
    assert committed == names, "stale generated files: run scripts/gen-proto.sh"
    for name in names:
        assert filecmp.cmp(fresh / name, GENERATED / name, shallow=False), (
            f"{name} differs from proto/: run scripts/gen-proto.sh"
        )

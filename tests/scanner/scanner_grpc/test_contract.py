"""The .proto files are a contract: every field that was ever published keeps its number, type
and cardinality (checked against a snapshot; new fields and messages may be added), and every
message keeps 900-999 reserved. Regenerate the snapshot only to ADD entries:
``STOCKADE_UPDATE_CONTRACT=1 pytest tests/scanner/scanner_grpc/test_contract.py``."""

from __future__ import annotations

import json
import os
from pathlib import Path

from google.protobuf import descriptor_pb2

from stockade.scanner.v1 import indexer_pb2, matcher_pb2

SNAPSHOT = Path(__file__).parent / "golden" / "contract.json"


def _files() -> list[descriptor_pb2.FileDescriptorProto]:
    return [
        descriptor_pb2.FileDescriptorProto.FromString(m.DESCRIPTOR.serialized_pb)
        for m in (indexer_pb2, matcher_pb2)
    ]


def _contract() -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for f in _files():
        for msg in f.message_type:
            out[f"{f.package}.{msg.name}"] = {
                field.name: f"{field.number} {field.type} {field.label} {field.type_name}"
                for field in msg.field
            }
        for enum in f.enum_type:
            out[f"{f.package}.{enum.name}"] = {v.name: str(v.number) for v in enum.value}
        for svc in f.service:
            out[f"{f.package}.{svc.name}"] = {
                m.name: f"{m.input_type} -> {m.output_type}" for m in svc.method
            }
    return out


def test_published_fields_never_change() -> None:
    now = _contract()
    if os.environ.get("STOCKADE_UPDATE_CONTRACT"):
        SNAPSHOT.write_text(json.dumps(now, indent=1, sort_keys=True) + "\n")
    published: dict[str, dict[str, str]] = json.loads(SNAPSHOT.read_text())
    for scope, members in published.items():
        assert scope in now, f"{scope} was removed from the contract"
        for name, shape in members.items():
            assert now[scope].get(name) == shape, f"{scope}.{name} changed: was {shape}"


def test_every_message_reserves_the_experimental_range() -> None:
    for f in _files():
        for msg in f.message_type:
            ranges = [(r.start, r.end) for r in msg.reserved_range]
            assert (900, 1000) in ranges, f"{msg.name} lacks `reserved 900 to 999;`"

#!/usr/bin/env bash
# Regenerate the Python gRPC code from proto/ (grpcio-tools from the dev extras).
# tests/scanner/indexer/test_service.py checks the committed code matches.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out=${1:-$root/src}
cd "$root/proto"
for f in $(find . -name '*.proto' | sort); do
  "$root/.venv/bin/python" -m grpc_tools.protoc -I. --python_out="$out" --pyi_out="$out" \
    --grpc_python_out="$out" "${f#./}"
done

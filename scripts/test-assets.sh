#!/usr/bin/env bash
# Build the test assets the suites share, before pytest starts, so no single test pays for
# them inside its timeout: the two-layer Debian test image from ../shared/tools, cached under
# .cache/indexer/test-image-<first 12 hex of the script's sha256> (the path the Indexer
# suite's fixture looks for). Quiet and quick when the cache is already there.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
script="$root/../shared/tools/build-test-image.sh"
[[ -f "$script" ]] || { echo "test assets: $script not found; image suites will skip"; exit 0; }
hash=$(sha256sum "$script" | cut -c1-12)
out="$root/.cache/indexer/test-image-$hash"
if [[ ! -f "$out/image.tar" ]]; then
  echo "test assets: building the test image into $out"
  mkdir -p "$(dirname "$out")"
  bash "$script" "$out.partial" && rm -rf "$out" && mv "$out.partial" "$out"
fi

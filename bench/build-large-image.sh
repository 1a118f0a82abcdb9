#!/usr/bin/env bash
# Build the large benchmark image (>= 700 MB uncompressed) from Debian packages only:
#   layer 1: Debian bookworm minbase (debootstrap)
#   layer 2: a JDK, Python 3, Node.js with npm (Debian ships several hundred node modules,
#            each with its package.json) and some Java libraries (jars under /usr/share/java)
# Output (in OUT): oci/ (OCI layout, tag "large") and image.tar (docker-archive, large:latest).
# Usage: bench/build-large-image.sh OUT      Needs root, debootstrap, umoci, skopeo.
set -euo pipefail
OUT=${1:?usage: build-large-image.sh OUT}
mkdir -p "$OUT"; OUT=$(cd "$OUT" && pwd)
mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -v security | head -n1)
[[ -n $mirror ]] || mirror=$(awk '$1=="deb" && $0 !~ /security/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null)
[[ -n $mirror ]] || { echo "no Debian mirror found in apt's sources" >&2; exit 1; }
extra=openjdk-17-jdk-headless,python3,python3-venv,nodejs,npm,libguava-java,libcommons-lang3-java,libjackson2-databind-java,liblog4j2-java,libcommons-io-java
if [[ ! -f $OUT/base/var/lib/dpkg/status ]]; then
  rm -rf "$OUT/base"
  debootstrap --variant=minbase bookworm "$OUT/base" "$mirror" >"$OUT/debootstrap-base.log" 2>&1
fi
if [[ ! -f $OUT/full/var/lib/dpkg/status ]]; then
  rm -rf "$OUT/full"
  debootstrap --variant=minbase --include="$extra" bookworm "$OUT/full" "$mirror" >"$OUT/debootstrap-full.log" 2>&1
fi
rm -rf "$OUT/oci" "$OUT/image.tar"
umoci init --layout "$OUT/oci"
umoci new --image "$OUT/oci:large"
umoci insert --image "$OUT/oci:large" "$OUT/base" / >/dev/null
# the second layer is the full tree inserted over the base: umoci records only what differs
umoci unpack --image "$OUT/oci:large" "$OUT/bundle" >/dev/null
rsync -a --delete "$OUT/full/" "$OUT/bundle/rootfs/"
umoci repack --image "$OUT/oci:large" "$OUT/bundle" >/dev/null
rm -rf "$OUT/bundle"
umoci config --image "$OUT/oci:large" --config.cmd /bin/bash --os linux --architecture amd64
skopeo copy -q "oci:$OUT/oci:large" "docker-archive:$OUT/image.tar:large:latest"
du -sh "$OUT/full" "$OUT/oci" "$OUT/image.tar"

#!/usr/bin/env bash
# Regenerates the binary fixtures and golden files under fixtures/ with real tools (the Java
# *.want.json expectations are hand-written and left alone):
#   rpm databases  Debian's rpm/rpmbuild (SQLite), rpm 4.18 built from Debian's source package
#                  with --enable-ndb (NDB: Debian's binary lacks that backend), and Berkeley DB
#                  hash files written by db5.3_load from the headers `rpmdb --exportdb` prints
#                  (so the BDB files are built this way, not by an rpm that used BDB natively;
#                  Debian's rpm reads them back through its bdb_ro backend for the golden file).
#   Go binaries    Debian's golang-go, offline (GOPROXY=off, a replace'd local module gives a
#                  dependency entry); the pre-1.18 pointer layout cannot come from Go 1.19, so
#                  gcc builds a C program with that layout and `go version -m` must read it.
#   cargo-auditable Debian has no cargo-auditable: objcopy adds a .dep-v0 section (zlib JSON)
#                  to a small gcc-built ELF.
#   Java archives  the JDK's `jar` and Info-ZIP `zip`: plain, manifest-only, metadata-less,
#                  shaded jars, a war holding them and an ear holding the war.
# Needs: rpm db5.3-util golang-go gcc binutils zip default-jdk-headless. For NDB either set
# RPM_NDB=/path/to/ndb-capable/rpm, or enable a deb-src line for bookworm and run
# `apt-get build-dep rpm` first (the script then builds rpm from `apt-get source rpm`).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$here/fixtures"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$out/rpm" "$out/go" "$out/rust" "$out/java"
export SOURCE_DATE_EPOCH=1700000000 TZ=UTC LC_ALL=C

# ---------------------------------------------------------------- rpm packages
top="$work/rpmtop"
mkdir -p "$top/SPECS"
spec() { # name version release epoch arch nfiles license vendor
  local name=$1 version=$2 release=$3 epoch=$4 arch=$5 nfiles=$6 license=$7 vendor=$8
  {
    echo "Name: $name"
    echo "Version: $version"
    echo "Release: $release"
    [[ "$epoch" != "-" ]] && echo "Epoch: $epoch"
    echo "Summary: Stockade fixture package $name"
    echo "License: $license"
    [[ "$vendor" != "-" ]] && echo "Vendor: $vendor"
    echo "BuildArch: $arch"
    echo "%description"
    echo "Fixture package for the rpm database readers."
    echo "%install"
    echo "mkdir -p %{buildroot}/usr/share/$name/sub %{buildroot}/usr/bin"
    for ((i = 0; i < nfiles; i++)); do
      echo "echo $i > %{buildroot}/usr/share/$name/sub/file-with-a-long-name-$i.txt"
    done
    [[ $nfiles -gt 0 ]] && echo "printf '#!/bin/sh\n' > %{buildroot}/usr/bin/$name"
    echo "%files"
    if [[ $nfiles -gt 0 ]]; then
      echo "%dir /usr/share/$name"
      echo "/usr/share/$name/sub"
      echo "/usr/bin/$name"
    fi
  } > "$top/SPECS/$name.spec"
}
spec tiny          1.0    1        2  noarch 1   MIT            "Stockade Test"
spec meta-empty    0.1    3.el9    -  noarch 0   "Public Domain" -
spec libwidget     2.4.11 7.fc39   -  x86_64 40  "GPL-2.0-or-later" "Fedora Project"
spec widget-tools  2.4.11 7.fc39   1  x86_64 12  "GPL-2.0-or-later" "Fedora Project"
spec bigfiles      10.2   0.rc1    -  noarch 200 "Apache-2.0"  "Stockade Test"
spec perl-Thing    1.30   1.module_el8.5.0+1 4 noarch 3 "GPL+ or Artistic" "Red Hat, Inc."
for s in "$top"/SPECS/*.spec; do
  defs=(--define "_topdir $top" --define "_build_id_links none")
  [[ "$s" == */perl-Thing.spec ]] && defs+=(--define "modularitylabel perl:5.30:8050020211112:b6a9a5d1")
  rpmbuild "${defs[@]}" -bb "$s" > "$work/rpmbuild.log" 2>&1 || { cat "$work/rpmbuild.log"; exit 1; }
done
mapfile -t rpms < <(find "$top/RPMS" -name '*.rpm' | sort)

# The ndb-capable rpm: reuse $RPM_NDB, else build Debian's source package with --enable-ndb.
if [[ -z "${RPM_NDB:-}" ]]; then
  (cd "$work" && apt-get source -qq rpm >/dev/null 2>&1)
  src="$(find "$work" -maxdepth 1 -type d -name 'rpm-4*' | head -1)"
  (cd "$src" && ./configure -q --prefix="$work/rpm-ndb" --enable-ndb --enable-bdb-ro \
      --with-crypto=openssl --without-selinux --without-audit --disable-plugins \
      --enable-python=no --with-cap=no --with-acl=no --disable-openmp \
      LUA_CFLAGS="$(pkg-config --cflags lua5.3)" LUA_LIBS="$(pkg-config --libs lua5.3)" \
      && make -s -j2 && make -s install) > "$work/rpm-ndb.log" 2>&1
  RPM_NDB="$work/rpm-ndb/bin/rpm"
fi

qf='%{NAME}\t%{EPOCH}\t%{VERSION}\t%{RELEASE}\t%{ARCH}\t%{SOURCERPM}\t%{VENDOR}\t%{LICENSE}\t%{MODULARITYLABEL}\t[%{FILENAMES}|]\n'
golden() { # format dbfile rpm-binary backend-macro -> fixtures/rpm/<name>.want.json
  local fmt=$1 name=$2 rpmbin=$3 backend=$4 dbdir=$5
  "$rpmbin" --define "_db_backend $backend" --dbpath "$dbdir" -qa --qf "$qf" \
    | python3 "$here/rpm_golden.py" "$fmt" > "$out/rpm/$name.want.json"
}

db="$work/sqlite"
mkdir -p "$db"
rpm --dbpath "$db" --initdb
rpm --dbpath "$db" -i --justdb --nodeps --ignorearch "${rpms[@]}" 2>/dev/null
rpm --dbpath "$db" --rebuilddb  # checkpoints the WAL into the main file
cp "$db/rpmdb.sqlite" "$out/rpm/rpmdb.sqlite"
golden sqlite rpmdb.sqlite rpm sqlite "$db"

ndb="$work/ndb"
mkdir -p "$ndb"
"$RPM_NDB" --define "_db_backend ndb" --dbpath "$ndb" --initdb
"$RPM_NDB" --define "_db_backend ndb" --dbpath "$ndb" -i --justdb --nodeps --ignorearch "${rpms[@]}" 2>/dev/null
cp "$ndb/Packages.db" "$out/rpm/Packages.db"
golden ndb Packages.db "$RPM_NDB" ndb "$ndb"

# Berkeley DB: headers exported by rpm, loaded into hash databases of several page sizes and
# byte orders by db5.3_load; Debian's rpm (bdb_ro) reads each back for its golden file.
rpmdb --dbpath "$db" --exportdb > "$work/export.bin"
for variant in "4096 1234" "512 1234" "16384 1234" "4096 4321"; do
  read -r pagesize lorder <<< "$variant"
  python3 "$here/rpm_bdb_dump.py" "$work/export.bin" "$pagesize" "$lorder" > "$work/dump.txt"
  bdb="$work/bdb-$pagesize-$lorder"
  mkdir -p "$bdb"
  db5.3_load -f "$work/dump.txt" "$bdb/Packages"
  name="Packages-bdb-$pagesize-$lorder"
  cp "$bdb/Packages" "$out/rpm/$name"
  golden bdb "$name" rpm bdb_ro "$bdb"
done

# ---------------------------------------------------------------- Go binaries
gowork="$work/go"
mkdir -p "$gowork/lib" "$gowork/hello"
cat > "$gowork/lib/go.mod" <<'EOF'
module example.org/stockade/greeting

go 1.19
EOF
cat > "$gowork/lib/greeting.go" <<'EOF'
package greeting

// Word is what the fixture program prints.
func Word() string { return "hello" }
EOF
cat > "$gowork/hello/go.mod" <<'EOF'
module example.org/stockade/hello

go 1.19

require example.org/stockade/greeting v1.2.3

replace example.org/stockade/greeting v1.2.3 => ../lib
EOF
cat > "$gowork/hello/main.go" <<'EOF'
package main

import "example.org/stockade/greeting"

func main() { println(greeting.Word()) }
EOF
export GOPROXY=off GOFLAGS=-mod=mod GOCACHE="$work/gocache" GOPATH="$work/gopath" CGO_ENABLED=0
for target in "linux amd64 hello-linux-amd64" "windows amd64 hello-windows-amd64.exe" \
              "darwin arm64 hello-darwin-arm64"; do
  read -r goos goarch file <<< "$target"
  (cd "$gowork/hello" && GOOS=$goos GOARCH=$goarch go build -trimpath -ldflags="-s -w" \
      -o "$out/go/$file" .)
done
# Without -trimpath Go records -ldflags, quoted because it holds spaces.
(cd "$gowork/hello" && GOOS=linux GOARCH=386 go build -tags "stockade fixture" \
    -ldflags="-s -w -X main.unused=1" -o "$out/go/hello-linux-386" .)
# The pre-1.18 layout: a C program with a .go.buildinfo section holding pointers to Go string
# headers, and the module text taken from the real binary above.
go version -m "$out/go/hello-linux-amd64" > "$work/modinfo.txt"
python3 "$here/go_old_layout.py" "$work/modinfo.txt" go1.16.15 > "$work/old.c"
gcc -O0 -no-pie -o "$out/go/old-layout-linux-amd64" "$work/old.c"
strip "$out/go/old-layout-linux-amd64"
# The same for 32-bit pointers: compiled -m32 and linked without libc (main touches none).
go version -m "$out/go/hello-linux-386" > "$work/modinfo32.txt"
python3 "$here/go_old_layout.py" "$work/modinfo32.txt" go1.15.15 > "$work/old32.c"
gcc -m32 -O0 -fno-pie -c -o "$work/old32.o" "$work/old32.c"
ld -m elf_i386 -e main -o "$out/go/old-layout-linux-386" "$work/old32.o"
strip "$out/go/old-layout-linux-386"
for f in "$out"/go/*; do
  [[ "$f" == *.want.txt ]] && continue
  (cd "$out/go" && go version -m "$(basename "$f")") > "$f.want.txt"
done

# ---------------------------------------------------------------- cargo-auditable
cat > "$work/hello.c" <<'EOF'
#include <stdio.h>
int main(void) { puts("hello"); return 0; }
EOF
gcc -O2 -o "$work/hello-rust" "$work/hello.c"
strip "$work/hello-rust"
python3 - "$work/dep-v0.json" <<'EOF'
import json, sys
packages = [
    {"name": "stockade-fixture", "version": "0.3.1", "source": "local", "dependencies": [1, 2, 4], "root": True},
    {"name": "serde", "version": "1.0.193", "source": "crates.io", "dependencies": [3]},
    {"name": "regex", "version": "1.10.2", "source": "crates.io", "dependencies": [5]},
    {"name": "serde_derive", "version": "1.0.193", "source": "crates.io", "kind": "build"},
    {"name": "private-helper", "version": "0.1.0", "source": "git"},
    {"name": "regex-syntax", "version": "0.8.2", "source": "crates.io"},
]
json.dump({"packages": packages}, open(sys.argv[1], "w"), separators=(",", ":"))
EOF
python3 -c 'import sys, zlib; open(sys.argv[2], "wb").write(zlib.compress(open(sys.argv[1], "rb").read(), 9))' \
  "$work/dep-v0.json" "$work/dep-v0.zlib"
objcopy --add-section .dep-v0="$work/dep-v0.zlib" --set-section-flags .dep-v0=noload,readonly \
  "$work/hello-rust" "$out/rust/auditable-linux-amd64"
cp "$work/dep-v0.json" "$out/rust/auditable-linux-amd64.want.json"

# ---------------------------------------------------------------- Java archives
jw="$work/java"
mkdir -p "$jw"
jarfile() { # dir -> jar with a fixed timestamp (its own MANIFEST.MF is in dir/META-INF)
  (cd "$1" && find . -exec touch -d @"$SOURCE_DATE_EPOCH" {} + \
     && jar --create --file "$2" --manifest META-INF/MANIFEST.MF --date=2023-11-14T22:13:20Z \
        $(find . -type f ! -path ./META-INF/MANIFEST.MF | sort))
}
mkjar() { # name dir-setup-function
  rm -rf "$jw/$1" && mkdir -p "$jw/$1/META-INF"
}
# 1. Maven-built library: pom.properties plus a manifest.
mkjar jackson-databind
d="$jw/jackson-databind"
mkdir -p "$d/META-INF/maven/com.fasterxml.jackson.core/jackson-databind" "$d/com/fasterxml"
printf 'Manifest-Version: 1.0\nImplementation-Title: jackson-databind\nImplementation-Version: 2.9.10.8\nImplementation-Vendor-Id: com.fasterxml.jackson.core\nBundle-SymbolicName: com.fasterxml.jackson.core.jackson-databind\nBundle-Version: 2.9.10.8\n' > "$d/META-INF/MANIFEST.MF"
printf '#Generated by Maven\ngroupId=com.fasterxml.jackson.core\nartifactId=jackson-databind\nversion=2.9.10.8\n' > "$d/META-INF/maven/com.fasterxml.jackson.core/jackson-databind/pom.properties"
echo x > "$d/com/fasterxml/Placeholder.class"
jarfile "$d" "$jw/jackson-databind-2.9.10.8.jar"
# 2. Manifest only (OSGi bundle fields, continuation lines).
mkjar log4j-api
d="$jw/log4j-api"
printf 'Manifest-Version: 1.0\nBundle-Name: Apache Log4j API\nBundle-SymbolicName: org.apache.logging.log4j.api\nBundle-Version: 2.14.1\nImplementation-Title: Apache Log4j A\n PI\nImplementation-Vendor-Id: org.apache.logging.log4j\nImplementation-Version: 2.14.1\n' > "$d/META-INF/MANIFEST.MF"
mkdir -p "$d/org/apache" && echo x > "$d/org/apache/Api.class"
jarfile "$d" "$jw/log4j-api-2.14.1.jar"
# 3. No metadata at all: the file name is all there is.
mkjar commons-text
d="$jw/commons-text"
printf 'Manifest-Version: 1.0\nCreated-By: 17 (Debian)\n' > "$d/META-INF/MANIFEST.MF"
mkdir -p "$d/org/apache/commons/text" && echo x > "$d/org/apache/commons/text/StringSubstitutor.class"
jarfile "$d" "$jw/commons-text-1.9.jar"
# 4. A shaded (uber) jar: its own pom.properties plus two relocated dependencies'.
mkjar shaded
d="$jw/shaded"
for gav in "com.example.app:payments-service:3.2.0" "com.google.guava:guava:31.1-jre" \
           "org.yaml:snakeyaml:1.33"; do
  IFS=: read -r g a v <<< "$gav"
  mkdir -p "$d/META-INF/maven/$g/$a"
  printf 'groupId=%s\nartifactId=%s\nversion=%s\n' "$g" "$a" "$v" > "$d/META-INF/maven/$g/$a/pom.properties"
done
printf 'Manifest-Version: 1.0\nMain-Class: com.example.app.Main\nImplementation-Title: payments-service\nImplementation-Version: 3.2.0\n' > "$d/META-INF/MANIFEST.MF"
mkdir -p "$d/com/example/app/shaded/com/google" && echo x > "$d/com/example/app/Main.class"
jarfile "$d" "$jw/payments-service-3.2.0.jar"
# 5. A war with the jars in WEB-INF/lib, and an ear holding the war and one more jar.
rm -rf "$jw/war" && mkdir -p "$jw/war/WEB-INF/lib" "$jw/war/META-INF"
cp "$jw/jackson-databind-2.9.10.8.jar" "$jw/log4j-api-2.14.1.jar" "$jw/commons-text-1.9.jar" "$jw/war/WEB-INF/lib/"
printf '<web-app/>\n' > "$jw/war/WEB-INF/web.xml"
printf 'Manifest-Version: 1.0\nCreated-By: 17 (Debian)\n' > "$jw/war/META-INF/MANIFEST.MF"
jarfile "$jw/war" "$jw/shop.war"
rm -rf "$jw/ear" && mkdir -p "$jw/ear/META-INF" "$jw/ear/lib"
cp "$jw/shop.war" "$jw/ear/"
cp "$jw/payments-service-3.2.0.jar" "$jw/ear/lib/"
printf 'Manifest-Version: 1.0\nCreated-By: 17 (Debian)\n' > "$jw/ear/META-INF/MANIFEST.MF"
printf '<application/>\n' > "$jw/ear/META-INF/application.xml"
jarfile "$jw/ear" "$jw/store.ear"
# 6. A zip-tool-built jar whose nested jar is stored (not deflated), as Spring Boot does.
rm -rf "$jw/boot" && mkdir -p "$jw/boot/BOOT-INF/lib"
cp "$jw/log4j-api-2.14.1.jar" "$jw/boot/BOOT-INF/lib/"
(cd "$jw/boot" && find . -exec touch -d @"$SOURCE_DATE_EPOCH" {} + && zip -q -X -0 -r "$jw/boot-app.jar" .)
cp "$jw/payments-service-3.2.0.jar" "$jw/shop.war" "$jw/store.ear" "$jw/boot-app.jar" \
   "$jw/commons-text-1.9.jar" "$out/java/"
echo "fixtures written to $out"

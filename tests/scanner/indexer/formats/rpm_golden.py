"""make_fixtures.sh helper: turn `rpm -qa --qf ...` lines into a golden JSON file."""

import json
import sys


def field(value: str) -> str | None:
    return None if value == "(none)" else value


def main() -> None:
    fmt = sys.argv[1]
    packages = []
    for line in sys.stdin.read().splitlines():
        name, epoch, version, release, arch, srpm, vendor, lic, modlabel, files = line.split("\t")
        packages.append(
            {
                "name": name,
                "epoch": None if epoch == "(none)" else int(epoch),
                "version": version,
                "release": release,
                "arch": arch,
                "source_rpm": field(srpm) or "",
                "vendor": field(vendor) or "",
                "license": field(lic) or "",
                "modularity_label": field(modlabel) or "",
                "files": [f for f in files.split("|") if f],
            }
        )
    packages.sort(key=lambda p: (p["name"], p["version"], p["release"], p["arch"]))
    json.dump({"format": fmt, "packages": packages}, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()

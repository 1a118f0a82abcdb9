"""make_fixtures.sh helper: C source of a binary with Go's pre-1.18 build-info layout.

Before Go 1.18 the 32-byte ``.go.buildinfo`` header held, after magic, pointer size and
flags, two pointers to Go string headers (data pointer, length): the Go version and the module
information wrapped in 16-byte sentinels. A non-PIE C program reproduces that layout; the
module text comes from ``go version -m`` of a real binary.
"""

import sys

START = b"0w\xaf\x0c\x92t\x08\x02A\xe1\xc1\x07\xe6\xd6\x18\xe6"
END = b"\xf92C1\x86\x18 r\x00\x82B\x10A\x16\xd8\xf2"


def c_bytes(data: bytes) -> str:
    return '"' + "".join(f"\\x{b:02x}" for b in data) + '"'


def main() -> None:
    listing, version = sys.argv[1], sys.argv[2]
    with open(listing) as fh:
        lines = fh.read().splitlines()[1:]
    modinfo = "".join(line.removeprefix("\t") + "\n" for line in lines).encode()
    mod = START + modinfo + END
    print("struct gostring { const char *p; long n; };")
    print(f"static const char ver[] = {c_bytes(version.encode())};")
    print(f"static const char mod[] = {c_bytes(mod)};")
    print("static const struct gostring vs = { ver, sizeof(ver) - 1 };")
    print("static const struct gostring ms = { mod, sizeof(mod) - 1 };")
    print("struct bi { char magic[14]; unsigned char ptrsize; unsigned char flags;")
    print("            const struct gostring *v; const struct gostring *m; };")
    print('__attribute__((section(".go.buildinfo"), used, aligned(16)))')
    print("const struct bi buildinfo = {")
    print("  { '\\xff', ' ', 'G', 'o', ' ', 'b', 'u', 'i', 'l', 'd', 'i', 'n', 'f', ':' },")
    print("  sizeof(void *), 0, &vs, &ms };")
    print("int main(void) { return buildinfo.ptrsize - 8; }")


if __name__ == "__main__":
    main()

"""make_fixtures.sh helper: `rpmdb --exportdb` output -> db_load "bytevalue" input.

Each exported header (8-byte magic, il, dl, index, data) becomes one hash record keyed by its
instance number (a 4-byte integer in the database's byte order), as rpm's BDB backend keyed
its Packages file.
"""

import struct
import sys


def headers(data: bytes) -> list[bytes]:
    out = []
    pos = 0
    while pos < len(data):
        assert data[pos : pos + 4] == b"\x8e\xad\xe8\x01", pos
        il, dl = struct.unpack(">ii", data[pos + 8 : pos + 16])
        end = pos + 16 + 16 * il + dl
        out.append(data[pos + 8 : end])
        pos = end
    return out


def main() -> None:
    export, pagesize, lorder = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    order = "<" if lorder == 1234 else ">"
    lines = ["VERSION=3", "format=bytevalue", "type=hash", f"db_pagesize={pagesize}"]
    lines += [f"db_lorder={lorder}", "HEADER=END"]
    with open(export, "rb") as fh:
        blobs = headers(fh.read())
    for n, blob in enumerate(blobs, start=1):
        lines.append(" " + struct.pack(order + "I", n).hex())
        lines.append(" " + blob.hex())
    lines.append("DATA=END")
    sys.stdout.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()

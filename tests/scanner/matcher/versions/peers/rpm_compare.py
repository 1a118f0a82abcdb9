"""Reference for RPM versions, run by Debian's /usr/bin/python3 (python3-rpm).

Each stdin line is ``E1 V1 R1 E2 V2 R2`` (tab-separated; an empty field means "absent");
the answer is rpm.labelCompare((E1, V1, R1), (E2, V2, R2)).
"""

import sys

import rpm


def _field(text):
    return text if text else None


for line in sys.stdin:
    f = line.rstrip("\n").split("\t")
    left = (_field(f[0]), f[1], _field(f[2]))
    right = (_field(f[3]), f[4], _field(f[5]))
    sys.stdout.write(f"{rpm.labelCompare(left, right)}\n")
    sys.stdout.flush()

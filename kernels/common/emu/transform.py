#!/usr/bin/env python3
"""Copies kernels/common into OUT/common, rewriting every kernel launch
`kernel<<<grid, block, smem, stream>>>(args)` into
`::ecostat::emudev::launch(kernel, grid, block, smem, stream)(args)` for the CPU emulator
(device_config.hpp beside this file).
Usage: transform.py SRC_COMMON_DIR OUT_DIR      (every .hpp/.inc into OUT_DIR/common)
       transform.py --file SRC.cu OUT.cpp        (one file, e.g. bench/gpu_bench.cu)"""
import os
import re
import sys

LAUNCH = re.compile(r"([A-Za-z_][\w:]*(?:<[^<>;(){}]*>)?)\s*<<<(.*?)>>>", re.S)


def rewrite(text):
    return LAUNCH.sub(lambda m: "::ecostat::emudev::launch(%s, %s)" % (m.group(1), m.group(2).strip()), text)


def write_if_changed(target, text):
    old = open(target).read() if os.path.exists(target) else None
    if old != text:
        with open(target, "w") as f:
            f.write(text)


def main():
    if sys.argv[1] == "--file":
        with open(sys.argv[2]) as f:
            write_if_changed(sys.argv[3], rewrite(f.read()))
        return
    src, out = sys.argv[1], sys.argv[2]
    dst = os.path.join(out, "common")
    os.makedirs(dst, exist_ok=True)
    n = 0
    for name in sorted(os.listdir(src)):
        path = os.path.join(src, name)
        if not os.path.isfile(path) or not name.endswith((".hpp", ".inc")):
            continue
        with open(path) as f:
            text = f.read()
        new = rewrite(text)
        n += len(LAUNCH.findall(text))
        write_if_changed(os.path.join(dst, name), new)
    print("emulator: rewrote %d launches into %s" % (n, dst))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Seeds for fuzz_tracefile from trace files: each file as it is, and its chunks'
payloads in the harness's 'F' form (u8 type, u32 length, payload), which the
harness frames with valid checksums.  Usage: mkcorpus_tracefile.py OUTDIR FILE..."""
import os
import struct
import sys
import zlib


def chunks(data):
    pos = 16
    while pos + 32 <= len(data):
        magic, typ, flags, seq, clen, rlen = struct.unpack_from("<IHHIII", data, pos)
        payload = data[pos + 32:pos + 32 + clen]
        pos += 32 + clen
        if len(payload) < clen:
            break
        yield typ, zlib.decompress(payload) if flags & 1 else payload


def main():
    out = sys.argv[1]
    for path in sys.argv[2:]:
        with open(path, "rb") as f:
            data = f.read()
        framed = b"F" + b"".join(struct.pack("<BI", t, len(p)) + p for t, p in chunks(data))
        name = os.path.splitext(os.path.basename(path))[0]
        with open(os.path.join(out, "F-" + name), "wb") as f:
            f.write(framed)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Write tests/unit/fixtures/linetable_3.N.json for the running interpreter:
for a few code objects, the raw line table and the line CPython itself gives
for every instruction offset (dis), so test_linetable checks pyscope's
decoder against the interpreter.  Run it with each interpreter to refresh."""
import dis
import json
import os
import sys

SRC = '''
def simple(a, b):
    c = a + b
    return c


def branches(x):
    if x > 10:
        y = x * 2
    else:
        y = x - 1

    for i in range(3):
        y += i
    return (y +
            1)


class K:
    def method(self, v):
        def inner(w):
            return w * v
        return inner(
            v)


def long_jump(n):
    total = 0
''' + "".join("    total += %d\n" % i for i in range(300)) + '''
    return total


async def coro(a):
    b = await a
    return b
'''


def codes(co):
    yield co
    for c in co.co_consts:
        if hasattr(c, "co_code"):
            yield from codes(c)


def table(co):
    if sys.version_info >= (3, 10):
        return co.co_linetable
    return co.co_lnotab


def main():
    top = compile(SRC, "<fixture>", "exec")
    out = []
    for co in codes(top):
        rows = []
        if sys.version_info >= (3, 10):
            # co_lines() is CPython's own decoding of the table
            for start, end, line in co.co_lines():
                for off in range(start, end, 2):
                    rows.append([off, -1 if line is None else line])
        else:
            starts = dict(dis.findlinestarts(co))
            line = co.co_firstlineno
            for off in range(0, len(co.co_code), 2):
                line = starts.get(off, line)
                rows.append([off, line])
        out.append({"name": co.co_name, "firstlineno": co.co_firstlineno,
                    "table": table(co).hex(), "lines": rows})
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures",
                        "linetable_%d.%d.json" % sys.version_info[:2])
    with open(path, "w") as f:
        json.dump({"python": sys.version.split()[0], "codes": out}, f, indent=0)
    print(path)


if __name__ == "__main__":
    main()

"""Construction-heavy micro workload with known, prime counts.
Usage: micro_ctor.py [REPEAT]   (default 1; the counts below are per repeat)

1009 Plain(); 23 Child() whose __init__ calls super().__init__(); 13 Bare()
inheriting Plain.__init__; 7 Slotted() built through __new__ only; 17
Captured() whose __init__ captures self in a closure; 5 constructions of a
same-named class in another module (mod_a/mod_b).  Everything in a loop, so
3.13 specialises the call sites (CALL_ALLOC_AND_ENTER_INIT).
"""
import os
import sys
import time

import ctor_mod_a
import ctor_mod_b


class Plain:
    def __init__(self, a, b=None):
        self.a = a
        self.b = b


class Child(Plain):
    def __init__(self, a):
        super().__init__(a, b="child")


class Bare(Plain):
    pass


class Slotted:
    __slots__ = ("v",)

    def __new__(cls, v):
        obj = super().__new__(cls)
        obj.v = v
        return obj


class Captured:
    def __init__(self, v):
        self.v = v
        self.get = lambda: self.v


def build():
    out = []
    for i in range(1009):
        out.append(Plain(i))
    for i in range(23):
        out.append(Child(i))
    for i in range(13):
        out.append(Bare(i, "x"))
    for i in range(7):
        out.append(Slotted(i))
    for i in range(17):
        out.append(Captured(i))
    for i in range(5):
        out.append(ctor_mod_a.Widget(i))
    for i in range(3):
        out.append(ctor_mod_b.Widget(i))
    return out


repeat = int(sys.argv[1]) if len(sys.argv) > 1 else 1
if os.environ.get("WAIT_FILE"):
    # tests arm probes on the live process first
    open(os.environ["WAIT_FILE"] + ".ready", "w").close()
    while not os.path.exists(os.environ["WAIT_FILE"]):
        time.sleep(0.005)
t0 = time.perf_counter()
n = sum(len(build()) for _ in range(repeat))
print("built %d\nelapsed: %.6f" % (n, time.perf_counter() - t0), file=sys.stderr)

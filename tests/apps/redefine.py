"""Calls a function, then redefines it (as a reload or a monkey-patch would) and
calls the new one.  With WAIT_FILE: waits before starting, and between the
two phases waits for WAIT_FILE.2 so a tracer can notice the new code."""
import os
import sys
import time


def handler(i):
    return i + 1


def wait(path):
    if path:
        open(path + ".ready", "w").close()
        while not os.path.exists(path):
            time.sleep(0.005)


def main():
    w = os.environ.get("WAIT_FILE")
    wait(w)
    for i in range(23):
        handler(i)
    src = "def handler(i):\n    return i + 2\n"
    exec(compile(src, __file__, "exec"), globals())
    # give a tracer time to follow the redefinition (it polls every 0.5 s)
    time.sleep(1.2 if w else 0)
    for i in range(29):
        handler(i)


main()

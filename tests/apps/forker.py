"""A parent that starts processes while traced: 3 children with os.fork, then
2 multiprocessing workers (fork context), each with a fixed workload so that
counts per process are deterministic.  Every process writes its role to
ROLES/<pid>.role; with --wait, a child waits for ROLES/go.<pid> before it
works (a tracer follows it first).  Usage:
  forker.py ROLES [--wait] [--exec]
With --exec the parent, once its children are done, execs a Python that runs
more calls (the report stops at the exec).
"""
import multiprocessing
import os
import sys
import time


class Job:
    def __init__(self, n):
        self.n = n


def work(i):
    return i * 2


def note_role(roles, name):
    path = os.path.join(roles, "%d.role" % os.getpid())
    with open(path + ".tmp", "w") as f:
        f.write(name)
    os.rename(path + ".tmp", path)


def child(roles, name, n, wait):
    note_role(roles, name)
    if wait:
        go = os.path.join(roles, "go.%d" % os.getpid())
        deadline = time.time() + 60
        while not os.path.exists(go):
            if time.time() > deadline:
                os._exit(3)
            time.sleep(0.005)
    Job(n)
    total = 0
    for i in range(n):
        total += work(i)
    return total


def main():
    roles = sys.argv[1]
    wait = "--wait" in sys.argv
    note_role(roles, "parent")
    Job(0)
    for i in range(23):
        work(i)
    pids = []
    for k, n in enumerate((101, 103, 107)):
        pid = os.fork()
        if pid == 0:
            child(roles, "fork%d" % k, n, wait)
            os._exit(0)
        pids.append(pid)
    bad = [p for p in pids if os.waitpid(p, 0)[1] != 0]
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=child, args=(roles, "mp%d" % k, n, wait))
             for k, n in enumerate((59, 61))]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    bad += [p.pid for p in procs if p.exitcode != 0]
    for i in range(13):
        work(i)
    if bad:
        sys.exit("children failed: %s" % bad)
    if "--exec" in sys.argv:
        sys.stdout.flush()
        os.execv(sys.executable, [sys.executable, "-c",
                                  "def work(i):\n    return i\nfor i in range(50):\n    work(i)\n"])


main()

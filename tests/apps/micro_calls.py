"""Call-heavy micro workload with known, prime counts.

fib(15) makes 1973 calls; 23 generator runs; 29 coroutine runs; 31 calls
that raise through the target; 4 threads x 251 calls.  Usage:
  micro_calls.py [N]   (fib argument, default 15)
"""
import asyncio
import os
import sys
import threading
import time


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def gen(k):
    for i in range(k):
        yield i


async def leaf(i):
    await asyncio.sleep(0)
    return i


async def coro(i):
    # awaits another coroutine twice: resumes must not count as calls
    a = await leaf(i)
    b = await leaf(i + 1)
    return a + b


def boom(i):
    if i >= 0:
        raise ValueError(i)


def guarded(i):
    try:
        boom(i)
    except ValueError:
        return -1


def worker(n):
    total = 0
    for i in range(n):
        total += work_item(i)
    return total


def work_item(i):
    return i * 2


def wait_for_go():
    """With WAIT_FILE set, block until it exists (tests arm probes on a live process)."""
    path = os.environ.get("WAIT_FILE")
    if path:
        open(path + ".ready", "w").close()
        while not os.path.exists(path):
            time.sleep(0.005)


def main():
    wait_for_go()
    t0 = time.perf_counter()
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    print(fib(n))
    print(sum(sum(gen(5)) for _ in range(23)))

    async def run_coros():
        return await asyncio.gather(*(coro(i) for i in range(29)))

    print(sum(asyncio.run(run_coros())))
    print(sum(guarded(i) for i in range(31)))
    threads = [threading.Thread(target=worker, args=(251,)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print("elapsed: %.6f" % (time.perf_counter() - t0), file=sys.stderr)


main()

"""Threads that start and stop while traced: 16 threads in waves of 1, 2, 3, 4
and 6, each created, run and joined before the next wave starts, so thread
states are created and freed throughout the trace.  Thread k calls step()
53 + k times and Waves.__init__ once; the main thread calls step() 23 times
between waves.  Usage: thread_waves.py
"""
import threading


class Waves:
    def __init__(self, k):
        self.k = k


def step(i):
    return i + 1


def run(k, out):
    w = Waves(k)
    total = 0
    for i in range(53 + k):
        total = step(total)
    out[k] = (w.k, total)


def main():
    out = {}
    k = 0
    for size in (1, 2, 3, 4, 6):
        threads = [threading.Thread(target=run, args=(k + j, out)) for j in range(size)]
        k += size
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for i in range(23):
            step(i)
    assert len(out) == 16 and all(out[j][1] == 53 + j for j in range(16)), out


main()

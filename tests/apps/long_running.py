"""A process that keeps calling a function until killed (for -p, -d, SIGTERM).
Writes its pid to argv[1] once running; exits with status argv[2] if given
after argv[3] seconds."""
import os
import sys
import time


def tick(i):
    return i + 1


def main():
    ready = sys.argv[1] if len(sys.argv) > 1 else None
    status = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    limit = float(sys.argv[3]) if len(sys.argv) > 3 else 3600.0
    if ready:
        with open(ready, "w") as f:
            f.write(str(os.getpid()))
    t0 = time.time()
    i = 0
    while time.time() - t0 < limit:
        i = tick(i)
        time.sleep(0.001)
    sys.exit(status)


main()

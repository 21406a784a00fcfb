"""For pyscope check: imports late_mod only after a delay, then calls its
legacy function 7 times, or not at all with --no-import.  Usage:
late_import.py READY_FILE GO_FILE [--no-import] [--exit-early]"""
import os
import sys
import time


def main():
    ready, go = sys.argv[1], sys.argv[2]
    open(ready, "w").close()
    while not os.path.exists(go):
        time.sleep(0.005)
    if "--exit-early" in sys.argv:
        time.sleep(0.3)
        return
    time.sleep(0.3)
    if "--no-import" in sys.argv:
        time.sleep(0.5)
        return
    import late_mod
    time.sleep(0.4)      # pyscope polls for late imports every 50 ms
    for i in range(7):
        late_mod.legacy_path(i)
    late_mod.modern_path(1)
    time.sleep(0.2)


main()

#!/usr/bin/env python3
"""How many cores does this shared machine give right now?

Counts iterations of a busy loop for `--seconds` in one process, then in two processes at
once, and prints JSON with `capacity` = (work of the two together) / (work of one alone):
2.0 when two cores are free, about 1.0 when other jobs hold one of them. scripts/perf.sh
runs it beside the 2-job scaling measurement, to tell resim's scaling from the machine's.
"""

import json
import multiprocessing as mp
import sys
import time


def spin(seconds, q=None):
    end = time.perf_counter() + seconds
    n = 0
    while time.perf_counter() < end:
        n += 1
    if q is not None:
        q.put(n)
    return n


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 2.0
    single = spin(seconds)
    q = mp.Queue()
    procs = [mp.Process(target=spin, args=(seconds, q)) for _ in range(2)]
    for p in procs:
        p.start()
    pair = [q.get() for _ in procs]
    for p in procs:
        p.join()
    print(json.dumps({"seconds": seconds, "single": single, "pair": pair, "capacity": sum(pair) / single}))


if __name__ == "__main__":
    main()

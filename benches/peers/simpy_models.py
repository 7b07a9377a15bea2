#!/usr/bin/env python3
"""SimPy models of resim's bench workloads (see common.py for the protocol).

    python simpy_models.py mmck --duration 3600 --replications 5 --seed 1

Idiomatic SimPy: a source process spawns one process per customer; each station is a
`simpy.Resource` with `servers` slots; a customer requests a slot, holds it for an
exponential service time, releases it and is routed on. An arrival that finds K inside
the station (waiting + in service) is rejected. L is a time-weighted integral of the
number inside, updated on every arrival and departure.

Prints JSON: per-station throughput, L, W, blocking (mean and 95% CI over replications),
the events (external arrivals + service completions) and the wall seconds of the
simulation alone (time.perf_counter around env.run), per replication.
"""

from __future__ import annotations

import random
import sys
import time
from importlib.metadata import version

import simpy

from common import WORKLOADS, emit, parse_args, station_metrics, summarise


class Station:
    __slots__ = ("env", "res", "capacity", "rate", "routes", "rng_service", "rng_routing",
                 "n", "area", "last", "arrivals", "rejected", "completed", "sojourn")

    def __init__(self, env, name, spec, seed, rep):
        self.env = env
        self.res = simpy.Resource(env, capacity=spec["servers"])
        self.capacity = spec["capacity"] if spec["capacity"] is not None else float("inf")
        self.rate = 1.0 / spec["mean"]
        self.routes = spec["routes"]  # resolved to Station objects by the caller
        self.rng_service = random.Random(f"{seed}/{rep}/service/{name}")
        self.rng_routing = random.Random(f"{seed}/{rep}/routing/{name}")
        self.n = 0
        self.area = 0.0
        self.last = 0.0
        self.arrivals = 0
        self.rejected = 0
        self.completed = 0
        self.sojourn = 0.0

    def change(self, delta):
        now = self.env.now
        self.area += self.n * (now - self.last)
        self.last = now
        self.n += delta

    def route(self):
        if not self.routes:
            return None
        u = self.rng_routing.random()
        for to, p in self.routes:
            if u < p:
                return to
            u -= p
        return None


def replicate(workload, duration, seed, rep):
    spec = WORKLOADS[workload]
    env = simpy.Environment()
    stations = {name: Station(env, name, s, seed, rep) for name, s in spec["stations"].items()}
    for st in stations.values():
        st.routes = [(stations[to], p) for to, p in st.routes]
    counter = {"external": 0}

    def customer(st):
        # `st` has already admitted the customer (n counted, arrival counted).
        while st is not None:
            arrived = env.now
            with st.res.request() as req:
                yield req
                yield env.timeout(st.rng_service.expovariate(st.rate))
            st.change(-1)
            st.completed += 1
            st.sojourn += env.now - arrived
            st = st.route()
            if st is not None:
                st.arrivals += 1
                if st.n >= st.capacity:
                    st.rejected += 1
                    return
                st.change(+1)

    def source(target, rate, rng):
        while True:
            yield env.timeout(rng.expovariate(rate))
            counter["external"] += 1
            target.arrivals += 1
            if target.n >= target.capacity:
                target.rejected += 1
                continue
            target.change(+1)
            env.process(customer(target))

    src = spec["source"]
    env.process(source(stations[src["target"]], src["rate"], random.Random(f"{seed}/{rep}/arrivals")))
    started = time.perf_counter()
    env.run(until=duration)
    wall = time.perf_counter() - started

    result = {}
    completions = 0
    for name, st in stations.items():
        st.change(0)  # close the integral at T
        completions += st.completed
        result[name] = station_metrics(duration, st.arrivals, st.rejected, st.completed, st.area, st.sojourn)
    return {"replication": rep, "wall_s": wall, "events": counter["external"] + completions, "stations": result}


def main(argv):
    args = parse_args(argv, "SimPy")
    reps = [replicate(args.workload, args.duration, args.seed, r) for r in range(args.replications)]
    emit(summarise("simpy", version("simpy"), args.workload, args.duration, args.seed, reps,
                   notes="L: time-weighted integral of the number inside, kept by the model"), args.out)


if __name__ == "__main__":
    main(sys.argv[1:])

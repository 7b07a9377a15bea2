#!/usr/bin/env python3
"""Ciw models of resim's bench workloads (see common.py for the protocol).

    python ciw_models.py mmck --duration 3600 --replications 5 --seed 1

Ciw's own network description: one node per station, exponential inter-arrival and
service distributions, a routing (transition) matrix whose row remainders leave, and
`queue_capacities` = K - c (Ciw counts waiting places only; a node holds c + queue
capacity, and an external arrival that finds it full is recorded as a `rejection`).

Metrics come from Ciw's data records (`get_all_records`):
- throughput and W from the `service` records of each node (exit_date <= T);
- blocking from the `rejection` records;
- L: Ciw keeps no time average of the number in a node unless a state tracker is
  attached (which costs time in the measured loop), so L is computed exactly from the
  records afterwards: the time each visit spent inside the node within [0, T] (service
  records, plus `include_incomplete=True` records for those still inside at T), summed
  and divided by T. This is the time integral itself, not Little's law; `littles_law_L`
  (throughput x W) is printed beside it for reference.

The wall time covers `Simulation(...)` and `simulate_until_max_time` only, not the
analysis of the records.
"""

from __future__ import annotations

import math
import sys
import time
from importlib.metadata import version

import ciw

from common import WORKLOADS, emit, parse_args, station_metrics, summarise


def network(workload):
    spec = WORKLOADS[workload]
    names = list(spec["stations"])
    index = {n: i for i, n in enumerate(names)}
    src = spec["source"]
    arrivals = [ciw.dists.Exponential(rate=src["rate"]) if n == src["target"] else None for n in names]
    services = [ciw.dists.Exponential(rate=1.0 / spec["stations"][n]["mean"]) for n in names]
    servers = [spec["stations"][n]["servers"] for n in names]
    capacities = [
        float("inf") if s["capacity"] is None else s["capacity"] - s["servers"] for s in spec["stations"].values()
    ]
    routing = []
    for n in names:
        row = [0.0] * len(names)
        for to, p in spec["stations"][n]["routes"]:
            row[index[to]] += p
        routing.append(row)
    net = ciw.create_network(
        arrival_distributions=arrivals,
        service_distributions=services,
        number_of_servers=servers,
        queue_capacities=capacities,
        routing=routing,
    )
    return net, names


def replicate(workload, duration, seed, rep):
    net, names = network(workload)
    ciw.seed(seed * 100_003 + rep)
    started = time.perf_counter()
    sim = ciw.Simulation(net)
    sim.simulate_until_max_time(duration)
    wall = time.perf_counter() - started

    T = duration
    acc = {n: {"arrivals": 0, "rejected": 0, "completed": 0, "area": 0.0, "sojourn": 0.0} for n in names}
    for r in sim.get_all_records(only=["service", "rejection"], include_incomplete=True):
        a = acc[names[r.node - 1]]
        if r.record_type == "rejection":
            a["arrivals"] += 1
            a["rejected"] += 1
        elif r.record_type == "service":
            if r.arrival_date > T:  # cannot happen, the run stops at T
                continue
            a["arrivals"] += 1
            exit_date = min(r.exit_date, T)
            a["area"] += exit_date - r.arrival_date
            if r.exit_date <= T:
                a["completed"] += 1
                a["sojourn"] += r.exit_date - r.arrival_date
        else:  # incomplete: still inside at T
            if r.arrival_date <= T:
                a["arrivals"] += 1
                a["area"] += T - r.arrival_date
    result = {}
    completions = 0
    for n in names:
        a = acc[n]
        completions += a["completed"]
        m = station_metrics(T, a["arrivals"], a["rejected"], a["completed"], a["area"], a["sojourn"])
        m["littles_law_L"] = m["throughput_per_s"] * m["mean_sojourn_s"] if a["completed"] else math.nan
        result[n] = m
    # Ciw's arrival node counts every individual it released (rejected ones included).
    external = sim.nodes[0].number_of_individuals
    return {"replication": rep, "wall_s": wall, "events": external + completions, "stations": result}


def main(argv):
    args = parse_args(argv, "Ciw")
    reps = [replicate(args.workload, args.duration, args.seed, r) for r in range(args.replications)]
    emit(summarise("ciw", version("ciw"), args.workload, args.duration, args.seed, reps,
                   notes="L: exact time integral computed from the data records after the run "
                         "(service + incomplete records), not from a state tracker"), args.out)


if __name__ == "__main__":
    main(sys.argv[1:])

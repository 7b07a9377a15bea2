"""Shared definitions of the peer benchmarks: the two workloads, statistics and output.

The workloads mirror the scenarios of `benches/engine.rs` (constants MMCK and NETWORK)
and the YAML files beside this one (`mmck.yaml`, `network.yaml`), which resim runs.
Keep the three in step: `run.py` checks that resim's report has the same stations,
servers and capacities as `WORKLOADS`.

Measurement protocol, the same in all three tools: every replication starts empty at
time 0 and runs for `duration` simulated seconds (no warm-up, as in the bench
scenarios). Per station:

- throughput  = service completions in [0, T] / T
- L           = time-average number inside (waiting + in service) over [0, T]
- W           = mean sojourn (arrival at the station to completion) of the visits that
                completed in [0, T]
- blocking    = arrivals rejected because K were inside / arrivals at the station

events = external arrivals (rejected ones included) + service completions, which is what
resim's engine counts (each arrival and each service completion is one event; a routed
hand-off continues inside the completion event).
"""

from __future__ import annotations

import json
import math
import platform
import statistics
import sys

# name -> { servers, capacity (K, None = unbounded), mean service time (s), routes
#          [(to, probability)] (the rest leaves) }, plus the external Poisson source.
WORKLOADS = {
    # M/M/4/50 at rho = 0.8: lambda 64/s, exponential service mean 50 ms, K = 50.
    "mmck": {
        "stations": {
            "api": {"servers": 4, "capacity": 50, "mean": 0.050, "routes": []},
        },
        "source": {"target": "api", "rate": 64.0},
    },
    # Five nodes with probabilistic routing and feedback (b -> a).
    "network": {
        "stations": {
            "a": {"servers": 4, "capacity": None, "mean": 0.010, "routes": [("b", 0.6), ("c", 0.3)]},
            "b": {"servers": 2, "capacity": None, "mean": 0.008, "routes": [("d", 0.5), ("a", 0.1)]},
            "c": {"servers": 2, "capacity": None, "mean": 0.012, "routes": [("e", 0.7)]},
            "d": {"servers": 1, "capacity": None, "mean": 0.005, "routes": [("e", 0.4)]},
            "e": {"servers": 2, "capacity": None, "mean": 0.009, "routes": []},
        },
        "source": {"target": "a", "rate": 200.0},
    },
}

# Student-t 0.975 quantiles for 1..30 degrees of freedom (no scipy needed).
_T975 = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
]


def t975(df: int) -> float:
    """0.975 quantile of Student's t with `df` degrees of freedom."""
    if df <= 0:
        return math.nan
    if df <= 30:
        return _T975[df - 1]
    z = 1.959964
    # Cornish-Fisher expansion; within 1e-4 of the exact value for df > 30.
    return z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)


def stat(values: list[float]) -> dict:
    """Mean and Student-t 95% interval over replications, as in resim's report."""
    vals = [v for v in values if v is not None and not math.isnan(v)]
    n = len(vals)
    if n == 0:
        return {"mean": None, "ci95": None, "n": 0}
    mean = statistics.fmean(vals)
    if n < 2:
        return {"mean": mean, "ci95": None, "n": n}
    hw = t975(n - 1) * statistics.stdev(vals) / math.sqrt(n)
    return {"mean": mean, "ci95": [mean - hw, mean + hw], "n": n}


def station_metrics(duration, arrivals, rejected, completed, area, sojourn_sum) -> dict:
    """One replication's figures for one station."""
    return {
        "arrivals": arrivals,
        "rejected": rejected,
        "completed": completed,
        "throughput_per_s": completed / duration,
        "mean_in_system": area / duration,
        "mean_sojourn_s": sojourn_sum / completed if completed else math.nan,
        "blocking_probability": rejected / arrivals if arrivals else math.nan,
    }


def summarise(tool, version, workload, duration, seed, reps, notes="") -> dict:
    """The JSON document every peer script prints."""
    names = list(WORKLOADS[workload]["stations"])
    metrics = ["throughput_per_s", "mean_in_system", "mean_sojourn_s", "blocking_probability"]
    events = sum(r["events"] for r in reps)
    wall = sum(r["wall_s"] for r in reps)
    return {
        "tool": tool,
        "version": version,
        "python": platform.python_version(),
        "workload": workload,
        "duration_s": duration,
        "replications": len(reps),
        "seed": seed,
        "notes": notes,
        "events": events,
        "wall_s": wall,
        "events_per_s": events / wall if wall > 0 else None,
        "events_per_s_by_replication": [r["events"] / r["wall_s"] for r in reps],
        "services": {
            s: {m: stat([r["stations"][s][m] for r in reps]) for m in metrics} for s in names
        },
        "per_replication": reps,
    }


def parse_args(argv, tool):
    import argparse

    p = argparse.ArgumentParser(description=f"{tool} models of resim's bench workloads")
    p.add_argument("workload", choices=sorted(WORKLOADS))
    p.add_argument("--duration", type=float, required=True, help="simulated seconds per replication")
    p.add_argument("--replications", type=int, default=5)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", help="write the JSON here instead of stdout")
    return p.parse_args(argv)


def emit(doc, out):
    text = json.dumps(doc, indent=1)
    if out:
        with open(out, "w") as f:
            f.write(text + "\n")
    else:
        sys.stdout.write(text + "\n")

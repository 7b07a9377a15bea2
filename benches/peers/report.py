#!/usr/bin/env python3
"""Reads the raw outputs of scripts/perf.sh (target/perf/) and writes docs/PERFORMANCE.md.

Agreement rule (the same for every metric and station): a peer agrees with resim on a
metric when the difference of the two means is within the combined 95% half-width
sqrt(h_resim^2 + h_peer^2) (the half-width of the difference of two independent means,
each a Student-t interval over replications), or, failing that, when it is within 2% of
resim's mean. The table says which of the two held. Exact queueing-theory values
(M/M/c/K; Jackson network of M/M/c nodes) are printed beside them.
"""

from __future__ import annotations

import argparse
import datetime
import glob
import json
import math
import os
import platform
import re
import statistics
import subprocess
import sys
from importlib.metadata import version

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import WORKLOADS, stat  # noqa: E402

METRICS = [
    ("throughput_per_s", "throughput/s"),
    ("mean_in_system", "L"),
    ("mean_sojourn_s", "W (s)"),
    ("blocking_probability", "blocking"),
]
TOOLS = ["resim", "simpy", "ciw"]
LABEL = {"resim": "resim", "simpy": "SimPy", "ciw": "Ciw"}
WORKLOAD_LABEL = {"mmck": "M/M/4/50, rho 0.8", "network": "5-node network"}
BENCH_GROUP = {"mmck": "mmck_4_50_rho_0.8", "network": "network_5_nodes"}
CALL_GRAPH_GROUP = "call_graph_10_services_fault"


# ---------------------------------------------------------------------------- theory
def mmck_theory(lam, mean, c, K):
    """Exact M/M/c/K (K None: M/M/c) steady state: throughput, L, W, blocking."""
    a = lam * mean
    p = [1.0]
    n = 0
    while True:
        n += 1
        if K is not None and n > K:
            break
        nxt = p[-1] * a / min(n, c)
        p.append(nxt)
        if K is None and n > c and nxt < 1e-18 * sum(p):
            break
    z = sum(p)
    p = [x / z for x in p]
    L = sum(i * x for i, x in enumerate(p))
    block = p[-1] if K is not None else 0.0
    X = lam * (1 - block)
    return {"throughput_per_s": X, "mean_in_system": L, "mean_sojourn_s": L / X, "blocking_probability": block}


def theory(workload):
    spec = WORKLOADS[workload]
    names = list(spec["stations"])
    gamma = {n: 0.0 for n in names}
    gamma[spec["source"]["target"]] = spec["source"]["rate"]
    lam = dict(gamma)
    for _ in range(10_000):  # traffic equations lambda = gamma + lambda P, by iteration
        new = dict(gamma)
        for n in names:
            for to, p in spec["stations"][n]["routes"]:
                new[to] += lam[n] * p
        done = max(abs(new[n] - lam[n]) for n in names) < 1e-13
        lam = new
        if done:
            break
    out = {}
    for n in names:
        s = spec["stations"][n]
        out[n] = mmck_theory(lam[n], s["mean"], s["servers"], s["capacity"])
    return out


# ---------------------------------------------------------------------------- parsing
WALL_RE = re.compile(r"([0-9.]+e[+-]?[0-9]+|[0-9.]+) events in ([0-9.]+)s wall \(([0-9.]+e[+-]?[0-9]+|[0-9.]+) events/s")


def parse_resim_stdout(path):
    with open(path) as f:
        m = WALL_RE.search(f.read())
    if not m:
        return None
    events, wall, rate = float(m.group(1)), float(m.group(2)), float(m.group(3))
    return {"events": events, "wall_printed": wall, "events_per_s": rate, "wall_s": events / rate}


def parse_time_v(path):
    """The figures of a `/usr/bin/time -v` log; empty when the log is missing."""
    out = {}
    if not os.path.exists(path):
        return out
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("Maximum resident set size"):
                out["max_rss_kb"] = int(line.rsplit(":", 1)[1])
            elif line.startswith("Elapsed (wall clock) time"):
                t = line.split("):", 1)[1].strip()
                secs = 0.0
                for part in t.split(":"):
                    secs = secs * 60 + float(part)
                out["elapsed_s"] = secs
            elif line.startswith("Percent of CPU this job got"):
                out["cpu_percent"] = float(line.rsplit(":", 1)[1].strip().rstrip("%") or "nan")
            elif line.startswith("User time (seconds)"):
                out["user_s"] = float(line.rsplit(":", 1)[1])
            elif line.startswith("System time (seconds)"):
                out["sys_s"] = float(line.rsplit(":", 1)[1])
            elif line.startswith("Exit status"):
                out["exit"] = int(line.rsplit(":", 1)[1])
    return out


def load_report(path):
    with open(path) as f:
        return json.load(f)


def resim_stats(report, workload):
    """{station: {metric: stat}} from a resim report.json."""
    out = {}
    for n in WORKLOADS[workload]["stations"]:
        s = report["services"][n]
        out[n] = {m: s[m] for m, _ in METRICS}
    return out


def check_resim_model(report, workload):
    """The resim scenario must have the stations, servers and capacities of WORKLOADS."""
    problems = []
    spec = WORKLOADS[workload]["stations"]
    if set(report["services"]) != set(spec):
        problems.append(f"stations {sorted(report['services'])} != {sorted(spec)}")
    for n, s in spec.items():
        r = report["services"].get(n)
        if r is None:
            continue
        if r.get("servers") != s["servers"]:
            problems.append(f"{n}: servers {r.get('servers')} != {s['servers']}")
        if r.get("capacity") != s["capacity"]:
            problems.append(f"{n}: capacity {r.get('capacity')} != {s['capacity']}")
    return problems


def pooled_peer(files, workload):
    docs = [json.load(open(f)) for f in files]
    reps = [r for d in docs for r in d["per_replication"]]
    names = list(WORKLOADS[workload]["stations"])
    stats = {n: {m: stat([r["stations"][n][m] for r in reps]) for m, _ in METRICS} for n in names}
    rates = [r["events"] / r["wall_s"] for r in reps]
    return {
        "docs": docs,
        "replications": len(reps),
        "rates": rates,
        "events_per_replication": statistics.fmean(r["events"] for r in reps),
        "wall_per_replication": statistics.median(r["wall_s"] for r in reps),
        "stats": stats,
        "littles_L": {
            n: statistics.fmean(r["stations"][n].get("littles_law_L", math.nan) for r in reps) for n in names
        },
    }


def run_order(dirname, prefix):
    """The `--out` paths of the commands perf.sh ran (its commands.txt) whose output name
    starts with `prefix`, in the order they ran."""
    outs = (line.split("--out ")[-1].strip() for line in readlines(os.path.join(dirname, "commands.txt"))
            if "--out " in line)
    return [out for out in outs if os.path.basename(out).startswith(prefix)]


def bracketed(order, is_reference):
    """(before, run, after) for every run of `order` that is not a reference run and has
    a reference run on either side: such a run is judged against the mean of its two
    neighbours, so a drift of the shared machine's speed weighs on both sides alike."""
    return [(before, run, after) for before, run, after in zip(order, order[1:], order[2:])
            if is_reference(before) and is_reference(after) and not is_reference(run)]


def paired_runs(dirname, workload):
    """{tool: [(resim rate, peer rate)]}: each peer invocation with the mean rate of the
    resim runs next to it."""
    tool_of = lambda out: os.path.basename(out).split("-")[0]  # noqa: E731
    order = [out for out in run_order(dirname, ("resim-", "simpy-", "ciw-"))
             if os.path.basename(out).removesuffix(".json").split("-")[1] == workload]
    rate = {}
    for out in order:
        if out.endswith(".json"):
            if os.path.exists(out):
                rate[out] = median(json.load(open(out))["events_per_s_by_replication"])
        elif os.path.exists(out + ".txt") and (p := parse_resim_stdout(out + ".txt")):
            rate[out] = p["events_per_s"]
    pairs = {"simpy": [], "ciw": []}
    for before, peer, after in bracketed(order, lambda out: tool_of(out) == "resim"):
        if tool_of(peer) in pairs and all(x in rate for x in (before, peer, after)):
            pairs[tool_of(peer)].append(((rate[before] + rate[after]) / 2, rate[peer]))
    return pairs


def readlines(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return f.read().splitlines()


def criterion(dirname):
    """{bench id: {printed: [lo, est, hi] string, median_eps: float}}."""
    out = {}
    log = os.path.join(dirname, "bench.txt")
    if os.path.exists(log):
        text = open(log).read()
        for m in re.finditer(r"^(\S+/\S+)\s+time:\s+\[[^\]]*\]\n\s+thrpt:\s+\[([^\]]*)\]", text, re.M):
            out.setdefault(m.group(1), {})["printed"] = m.group(2).strip()
    for est in glob.glob(os.path.join(dirname, "criterion", "*.estimates.json")):
        bench = json.load(open(est.replace(".estimates.json", ".benchmark.json")))
        e = json.load(open(est))
        elements = (bench.get("throughput") or {}).get("Elements")
        if elements:
            d = out.setdefault(bench["full_id"], {})
            d["median_eps"] = elements / (e["median"]["point_estimate"] * 1e-9)
            d["elements"] = elements
    return out


# ---------------------------------------------------------------------------- formatting
def fmt_rate(x):
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if x >= 1e6:
        return f"{x / 1e6:.2f} M"
    return f"{x / 1e3:.1f} k"


def fmt_num(x, metric):
    if x is None:
        return "n/a"
    if metric == "blocking_probability":
        return f"{x:.2e}" if x else "0"
    if metric == "mean_sojourn_s":
        return f"{x * 1e3:.3f} ms"
    return f"{x:.4f}" if abs(x) < 100 else f"{x:.3f}"


def fmt_stat(s, metric):
    if not s or s.get("mean") is None:
        return "n/a"
    m = s["mean"]
    if s.get("ci95"):
        hw = (s["ci95"][1] - s["ci95"][0]) / 2
        if metric == "mean_sojourn_s":
            return f"{m * 1e3:.3f} ± {hw * 1e3:.3f} ms"
        if metric == "blocking_probability":
            return f"{m:.1e} ± {hw:.1e}" if (m or hw) else "0"
        return f"{m:.4f} ± {hw:.4f}" if abs(m) < 100 else f"{m:.3f} ± {hw:.3f}"
    return fmt_num(m, metric)


def half_width(s):
    return (s["ci95"][1] - s["ci95"][0]) / 2 if s.get("ci95") else math.nan


def agreement(r, p):
    """(verdict, relative difference) of peer stat p against resim stat r."""
    if r.get("mean") is None or p.get("mean") is None:
        return "n/a", math.nan
    diff = p["mean"] - r["mean"]
    rel = diff / r["mean"] if r["mean"] else (0.0 if diff == 0 else math.inf)
    combined = math.hypot(half_width(r), half_width(p))
    in_ci = abs(diff) <= combined
    in_2 = abs(rel) <= 0.02
    if in_ci and in_2:
        return "yes (CI, 2%)", rel
    if in_ci:
        return "yes (CI)", rel
    if in_2:
        return "yes (2%)", rel
    return "**NO**", rel


def covers(s, value):
    return bool(s.get("ci95")) and s["ci95"][0] <= value <= s["ci95"][1]


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=60).stdout.strip()
    except Exception:  # noqa: BLE001
        return ""


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def pow10(n):
    e = round(math.log10(n)) if n > 0 else 0
    return f"10^{e}" if 10**e == n else f"{n:,}"


def median(xs):
    return statistics.median(xs) if xs else math.nan


# ---------------------------------------------------------------------------- main
CG_LINE = re.compile(r"^\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(.*)$")


def callgrind_rows(path):
    """(Ir, function) rows of callgrind_annotate's output, summed per function (the
    annotator splits a function by the source file its inlined code came from)."""
    total, per = None, {}
    try:
        lines = open(path).read().splitlines()
    except OSError:
        return None, {}
    for line in lines:
        m = CG_LINE.match(line)
        if not m:
            continue
        ir = int(m.group(1).replace(",", ""))
        what = m.group(2)
        if what.startswith("PROGRAM TOTALS"):
            total = ir
            continue
        what = re.sub(r" \[[^\]]*\]$", "", what)
        m = re.match(r"^(?:[^:]*\.(?:rs|c|h|S)|\?\?\?):(.+)$", what)
        if not m:
            continue
        fn = m.group(1)
        fn = re.sub(r"<[^<>]*>", "", re.sub(r"<[^<>]*>", "", fn))  # drop generic arguments
        per[fn] = per.get(fn, 0) + ir
    return total, per


def profile_section(w, D):
    total, self_cost = callgrind_rows(os.path.join(D, "callgrind.txt"))
    rep = os.path.join(D, "callgrind-run", "report.json")
    w("## 6. Where the time goes (instruction profile)")
    w("")
    if not total or not os.path.exists(rep):
        w("Not measured in this run (valgrind not installed or the profile failed; see"
          " target/perf/callgrind.log).")
        w("")
        return
    events = load_report(rep)["engine"]["events"]["mean"]
    w("`valgrind --tool=callgrind` on one replication of the M/M/4/50 workload (1 h simulated,"
      " `resim run --jobs 1`, the whole process: parsing, the run and the report). Instruction"
      " counts are exact and unaffected by other work on the machine; they do not show cache"
      " misses or pipeline stalls, which `perf record` (sampling) does.")
    w("")
    w(f"{total:,} instructions for {events:,.0f} events: **{total / events:,.0f} instructions per"
      " event**, everything included.")
    w("")
    w("Self instructions (the function's own code and what was inlined into it), the 14 largest:")
    w("")
    w("| function | instructions / event | share |")
    w("|---|---|---|")
    for fn, ir in sorted(self_cost.items(), key=lambda kv: -kv[1])[:14]:
        w(f"| `{fn}` | {ir / events:,.1f} | {ir / total:.1%} |")
    w("")
    w("What the profiles led to (every change left every example's report unchanged to the byte):")
    w("")
    w("- Latency histograms record into `hdrhistogram`'s own slot layout (3 significant digits,"
      " 1 ns to a day): a slot is a leading-zero count and two shifts, where the crate's"
      " `record` spent about 60 instructions on bounds, resizing and min/max. The crate builds"
      " its histogram from these counts for the quantiles, identical to the bit (tested)."
      " Counts are 16-bit with the overflow (once per 65536 samples of a slot) in a sorted"
      " list: a quarter of the cache lines of 64-bit counts, and 30% fewer first-level cache"
      " misses on the network than with 32-bit counts under callgrind's cache model.")
    w("- A service with no server-side policy and no fault on its instances is *plain*: its"
      " visits skip every admission, start and completion policy check with one branch.")
    w("- The event queue leaves a popped root in place; the next push (most events schedule"
      " one) fills it in one pass instead of a removal and an insertion (about 60"
      " instructions an event): from the top in a small queue, where a new event often"
      " stops high, bottom-up past 64 events, where it sinks far.")
    w("- A timeline counts the window simulated time is in at fixed places and adds it into"
      " its window when time leaves it: an answer costs one range check, not a lookup.")
    w("- The tracer and outlier checks are inline; `from_secs_f64` converts through `i64`"
      " below 2^63 (one instruction each way; the unsigned conversion is a branch and several).")
    w("- The exponential draw, the constant-rate arrival and a plain service's start are"
      " inline at their call sites (the other distributions and rate profiles behind one"
      " call); the scale to nanoseconds is computed beside the draw, so an arrival no"
      " longer waits on a division after it.")
    w("- Stations keep their own gauge integrals (a service's are gathered when read), and"
      " L's integral is the sum of Lq's and the busy workers', exactly, so it is not accrued.")
    w("- Routing counts the cumulative probabilities below the draw instead of branching on"
      " each: a random branch is mispredicted about half the time.")
    w("- `std::collections::BinaryHeap::pop` swaps the last entry into the root and reads it"
      " back at once: a 16-byte load over two fresh 8-byte stores, which the CPU cannot"
      " forward. `perf record` put a third of the loop's samples on that one load. The queue"
      " is now a binary heap that sifts a hole bottom-up and writes each entry once, with the"
      " `(time, seq)` key packed in one `u128`.")
    w("- `f64::round` is a libm call on the baseline x86-64 target (5.7% of samples); the"
      " conversion to nanoseconds now rounds with a truncation and a compare, bit-identical.")
    w("- Constant-rate arrivals no longer search the rate profile or enter the thinning loop.")
    w("- resim builds as one codegen unit, so the handlers inline across modules.")
    w("- A service's arrival record (32 bytes) also holds its service time distribution and"
      " whether it is plain, makes calls or preempts: a plain visit without calls ends from"
      " its service-end event without a look at the model's `Service` or its steps (issue 29;"
      " section 8).")
    w("- A station counts its waiting line beside its busy workers, so an arrival and a"
      " departure no longer ask the line's discipline for its length; up to four routes per"
      " service are held in place and drawn with four compares and no loop.")
    w("- An open workload's next arrival waits in a lane beside the event heap, with the"
      " sequence number it would have had in the heap, so the order is the same: in an"
      " M/M/c station half of all events no longer pass through the heap.")
    w("- What is left is spread thin: bounds checks (about a sixth of the instructions; the"
      " crate forbids `unsafe`), the exponential draws (ziggurat, a dependent chain of float"
      " operations), the histogram increments' cache misses and the heap. The loop allocates"
      " nothing per event and dispatches on an enum.")
    w("")


# The line after which docs/PERFORMANCE.md holds sections this script does not write.
KEPT_MARKER = "<!-- Kept by benches/peers/report.py: the sections below are measured by other scripts. -->"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", default="target/perf")
    ap.add_argument("--doc", default="docs/PERFORMANCE.md")
    ap.add_argument("--peer-reps", type=int, required=True)
    ap.add_argument("--peer-replications", type=int, required=True)
    ap.add_argument("--resim-reps", type=int, required=True)
    ap.add_argument("--resim-replications", type=int, required=True)
    ap.add_argument("--duration", action="append", default=[])
    ap.add_argument("--mem", action="append", type=int, default=[])
    ap.add_argument("--scaling-reps", type=int, required=True)
    ap.add_argument("--scaling-duration", type=float, required=True)
    a = ap.parse_args()
    D = a.dir
    durations = {k: float(v) for k, v in (x.split("=", 1) for x in a.duration)}

    L = []  # the document, line by line
    w = L.append
    problems = []

    # ---- machine
    def readf(name, default=""):
        try:
            return open(os.path.join(D, name)).read().strip()
        except OSError:
            return default

    rev = readf("git-rev.txt", "unknown")
    dirty = readf("git-dirty.txt", "0")
    w("# Performance: resim beside SimPy and Ciw")
    w("")
    w("Generated by `scripts/perf.sh` (raw outputs in `target/perf/`); do not edit by hand,")
    w("re-run the script. It measures resim against two established Python simulators on")
    w("the same two queueing workloads as `benches/engine.rs`, first checking that all three")
    w("give the same answers, then comparing their speed; then resim's memory use over long")
    w("runs and its scaling over two threads.")
    w("")
    w("## Machine")
    w("")
    w("| | |")
    w("|---|---|")
    w(f"| date | {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')} |")
    w(f"| cores (`nproc`) | {sh('nproc') or os.cpu_count()} |")
    w(f"| CPU (`/proc/cpuinfo`) | {cpu_model()} |")
    mem_gib = sh("free -g | awk '/Mem:/ {print $2}'")
    w(f"| memory | {mem_gib} GiB |")
    la0 = " ".join(readf("loadavg-start.txt").split()[:3])
    la1 = " ".join(readf("loadavg-end.txt").split()[:3])
    w(f"| load average (1, 5, 15 min) at start / end of the script | {la0} / {la1} |")
    w(f"| rustc | {sh('rustc --version')} |")
    w(f"| python | {platform.python_version()} ({platform.python_implementation()}) |")
    w(f"| simpy | {version('simpy')} |")
    w(f"| ciw | {version('ciw')} (numpy {version('numpy')}) |")
    w(f"| resim | commit `{rev[:12]}`" + (f", with {dirty} uncommitted change(s) in src/ at build time" if dirty not in ("", "0") else "") + " |")
    w("")
    w("The machine is shared and noisy (2 cores, other jobs running); every speed figure is a")
    w("median over several timed runs, and the spread is shown.")
    w("")

    # The targets table goes here; its rows are filled in as the sections below measure them.
    targets_at = len(L)
    targets = []  # (target, measured, verdict)

    def verdict(ok):
        return "**met**" if ok else "**NOT met**"

    # ---- side-by-side data
    crit = criterion(D)
    data = {}
    for wl in ["mmck", "network"]:
        runs = []
        for path in sorted(glob.glob(os.path.join(D, f"resim-{wl}-*.txt"))):
            p = parse_resim_stdout(path)
            if p:
                runs.append(p)
        rep_path = os.path.join(D, f"resim-{wl}-1", "report.json")
        report = load_report(rep_path) if os.path.exists(rep_path) else None
        if report:
            for msg in check_resim_model(report, wl):
                problems.append(f"{wl}: resim scenario differs from the peer models: {msg}")
        peers = {}
        for tool in ["simpy", "ciw"]:
            files = sorted(glob.glob(os.path.join(D, f"{tool}-{wl}-*.json")))
            if files:
                peers[tool] = pooled_peer(files, wl)
        data[wl] = {"resim_runs": runs, "report": report, "peers": peers, "paired": paired_runs(D, wl)}

    # ---- agreement
    w("## 1. Do they agree?")
    w("")
    w("Before comparing speed: the three tools simulate the same model, so their estimates")
    w("must agree. Every replication starts empty and runs the same simulated time with no")
    w("warm-up; per station, throughput = completions / T, L = time-average number inside")
    w("(waiting + in service), W = mean sojourn of the visits completed in [0, T],")
    w("blocking = rejected / arrivals. Each estimate is a mean ± 95% Student-t half-width")
    w("over independent replications:")
    w("")
    for wl in data:
        d = data[wl]
        nres = d["report"]["replications"] if d["report"] else 0
        parts = [f"resim {nres}"] + [f"{LABEL[t]} {d['peers'][t]['replications']}" for t in d["peers"]]
        w(f"- {WORKLOAD_LABEL[wl]}: {durations.get(wl, 0):g} s simulated per replication; replications: {', '.join(parts)}.")
    w("")
    w("**Rule:** a peer agrees with resim on a figure when the difference of the means is")
    w("within the combined 95% half-width sqrt(h_resim² + h_peer²) — marked `CI` — or,")
    w("failing that, within 2% of resim's mean — marked `2%`. With this many comparisons a")
    w("few misses of the CI test are expected by chance (1 in 20 at 95%); a miss of both")
    w("tests is marked **NO**. The theory column is the exact steady state (M/M/c/K for the")
    w("station; a Jackson network of M/M/c nodes for the network), for reference; `✓` after")
    w("an estimate means its 95% interval covers theory.")
    w("")
    w("L in SimPy is a time-weighted integral kept by the model. Ciw keeps no time average")
    w("of the number in a node without a state tracker (which would slow the measured loop),")
    w("so Ciw's L is computed after the run, exactly, from its data records: each visit's")
    w("time inside the node within [0, T] (completed `service` records plus")
    w("`include_incomplete` records of those still inside at T), summed, divided by T. This")
    w("is the time integral itself, not Little's law.")
    devs = [
        abs(p["littles_L"][n] / p["stats"][n]["mean_in_system"]["mean"] - 1)
        for d in data.values() if "ciw" in d["peers"] for p in [d["peers"]["ciw"]] for n in p["littles_L"]
        if p["stats"][n]["mean_in_system"]["mean"]
    ]
    if devs:
        w(f"(Little's law from the same records, throughput × W, differs from it by at most {max(devs) * 100:.3f}%.)")
    w("")
    w("| workload | station | metric | theory | resim | SimPy | Ciw | SimPy agrees | Ciw agrees |")
    w("|---|---|---|---|---|---|---|---|---|")
    n_cmp = n_ci_miss = n_fail = 0
    cover = {t: [0, 0] for t in TOOLS}
    for wl, d in data.items():
        if not d["report"]:
            problems.append(f"{wl}: no resim report, agreement not checked")
            continue
        th = theory(wl)
        rs = resim_stats(d["report"], wl)
        for n, st in WORKLOADS[wl]["stations"].items():
            for m, label in METRICS:
                if m == "blocking_probability" and st["capacity"] is None:
                    continue  # unbounded station: 0 in every tool by construction
                tv = th[n][m]
                cells = []
                for t in TOOLS:
                    s = rs[n][m] if t == "resim" else (d["peers"].get(t, {}).get("stats", {}).get(n, {}).get(m))
                    if not s:
                        cells.append("n/a")
                        continue
                    c = covers(s, tv)
                    cover[t][0] += c
                    cover[t][1] += 1
                    cells.append(fmt_stat(s, m) + (" ✓" if c else ""))
                verdicts = []
                for t in ["simpy", "ciw"]:
                    ps = d["peers"].get(t, {}).get("stats", {}).get(n, {}).get(m)
                    if not ps:
                        verdicts.append("n/a")
                        continue
                    v, rel = agreement(rs[n][m], ps)
                    n_cmp += 1
                    n_ci_miss += "CI" not in v
                    n_fail += v.startswith("**NO")
                    verdicts.append(f"{v}, {rel * 100:+.2f}%" if math.isfinite(rel) else v)
                w(f"| {WORKLOAD_LABEL[wl]} | {n} | {label} | {fmt_num(tv, m)} | " + " | ".join(cells) + " | " + " | ".join(verdicts) + " |")
    w("")
    w(f"Summary: {n_cmp} comparisons; {n_cmp - n_ci_miss} within the combined CI, "
      f"{n_ci_miss - n_fail} only within 2%, {n_fail} failing both. Intervals covering theory: "
      + ", ".join(f"{LABEL[t]} {c}/{tot}" for t, (c, tot) in cover.items()) + ".")
    w("")

    # ---- speed
    w("## 2. Speed")
    w("")
    w("Events = external arrivals (rejected ones included) + service completions, counted the")
    w("same way in all three (resim's engine counts exactly these, plus one warm-up marker per")
    w("replication). The same simulated duration and rates give the same expected number of")
    w("arrivals; the `events/replication` column shows they match.")
    w("")
    w("- **resim (CLI)**: `resim run --jobs 1` with "
      f"{a.resim_replications} replications per run, {a.resim_reps} runs per workload, one before"
      " each peer invocation and one after the last; rate = the `events/s` it prints (wall time"
      " of simulating all replications plus merging the report, one thread).")
    w("- **resim (criterion)**: `cargo bench --bench engine`, the same scenario constants, one"
      " replication per iteration, 30 samples of equal length over at least 8 s; rate ="
      " elements / median iteration time (from criterion's estimates.json).")
    w(f"- **SimPy / Ciw**: {a.peer_reps} invocation(s) × {a.peer_replications} replications per"
      " workload; each replication is timed inside the script with `time.perf_counter` around"
      " the simulation only (SimPy: `env.run`; Ciw: `Simulation(...)` +"
      " `simulate_until_max_time`; record analysis excluded); rate = median over replications.")
    w("- **Side by side (paired)**: the runs alternate — resim, SimPy, resim, Ciw, resim, … —"
      " so every peer invocation has a resim run just before and just after it. Its ratio is"
      " the mean rate of those two resim runs over the invocation's median rate; the"
      " side-by-side figure is the median of these ratios. The machine is shared and its"
      " speed drifts over minutes; a pair is taken at one speed, so the drift cancels, as it"
      " does not between medians taken minutes apart (the criterion bench runs before all"
      " of them, so its ratios in the table are shown for reference only).")
    w("")
    w("| tool | workload | events/replication | wall per run (median) | events/s median (min – max) | resim CLI / tool | resim criterion / tool |")
    w("|---|---|---|---|---|---|---|")
    speed = {}
    for wl, d in data.items():
        runs = d["resim_runs"]
        r_rate = median([r["events_per_s"] for r in runs])
        r_epr = d["report"]["engine"]["events"]["mean"] if d["report"] else math.nan
        c = crit.get(f"{BENCH_GROUP[wl]}/replication", {})
        c_rate = c.get("median_eps")
        speed[wl] = {"resim": r_rate, "criterion": c_rate}
        if runs:
            w(f"| resim (CLI, --jobs 1) | {WORKLOAD_LABEL[wl]} | {r_epr:,.0f} | {median([r['wall_s'] for r in runs]):.3f} s "
              f"({a.resim_replications} repl.) | {fmt_rate(r_rate)} ({fmt_rate(min(r['events_per_s'] for r in runs))} – "
              f"{fmt_rate(max(r['events_per_s'] for r in runs))}) | 1 | |")
        else:
            w(f"| resim (CLI, --jobs 1) | {WORKLOAD_LABEL[wl]} | n/a | n/a | not measured | | |")
        if c_rate:
            w(f"| resim (criterion) | {WORKLOAD_LABEL[wl]} | {c['elements']:,} | {c['elements'] / c_rate * 1e3:.1f} ms (1 repl.) | "
              f"{fmt_rate(c_rate)} | | 1 |")
        else:
            w(f"| resim (criterion) | {WORKLOAD_LABEL[wl]} | n/a | n/a | not measured | | |")
        for t in ["simpy", "ciw"]:
            p = d["peers"].get(t)
            if not p:
                w(f"| {LABEL[t]} | {WORKLOAD_LABEL[wl]} | n/a | n/a | not measured | | |")
                continue
            pr = median(p["rates"])
            speed[wl][t] = pr
            w(f"| {LABEL[t]} {version(t)} | {WORKLOAD_LABEL[wl]} | {p['events_per_replication']:,.0f} | "
              f"{p['wall_per_replication']:.2f} s (1 repl.) | {fmt_rate(pr)} ({fmt_rate(min(p['rates']))} – {fmt_rate(max(p['rates']))}) | "
              f"{r_rate / pr:,.0f}× | " + (f"{c_rate / pr:,.0f}× |" if c_rate else "n/a |"))
    w("")

    for wl, need in (("mmck", 10e6), ("network", 5e6)):
        c_rate = speed.get(wl, {}).get("criterion")
        targets.append((f"{WORKLOAD_LABEL[wl]}: ≥ {need / 1e6:g} M events/s (criterion, one core)",
                        f"{fmt_rate(c_rate)} events/s" if c_rate else "not measured",
                        verdict(c_rate and c_rate >= need) if c_rate else "not measured"))
    cg = crit.get(f"{CALL_GRAPH_GROUP}/replication", {}).get("median_eps")
    targets.append(("10-service call graph, timeouts, jittered retries, breakers, active faults: ≥ 2 M events/s",
                    f"{fmt_rate(cg)} events/s" if cg else "not measured",
                    verdict(cg >= 2e6) if cg else "not measured"))
    w("Side by side, pair by pair (resim CLI rate = mean of the runs just before and after):")
    w("")
    w("| workload | peer | invocation | resim CLI events/s | peer events/s | ratio |")
    w("|---|---|---|---|---|---|")
    side = {}
    for wl, d in data.items():
        for t, pairs in d["paired"].items():
            for i, (rr, pr) in enumerate(pairs, 1):
                w(f"| {WORKLOAD_LABEL[wl]} | {LABEL[t]} | {i} | {fmt_rate(rr)} | {fmt_rate(pr)} | {rr / pr:,.0f}× |")
            if pairs:
                qs = [rr / pr for rr, pr in pairs]
                side[(wl, t)] = (median(qs), min(qs), max(qs))
    w("")
    for (wl, t), (q, lo, hi) in side.items():
        w(f"- {WORKLOAD_LABEL[wl]}, {LABEL[t]}: **{q:,.0f}×** (median of {len(data[wl]['paired'][t])} pairs;"
          f" {lo:,.0f}–{hi:,.0f}×).")
    w("")

    for t in ("simpy", "ciw"):
        ratios = [(side[(wl, t)][0], WORKLOAD_LABEL[wl]) for wl in data if (wl, t) in side]
        if ratios:
            low = min(r for r, _ in ratios)
            targets.append((f"≥ 100× the throughput of {LABEL[t]} on the same workloads (side by side, median of paired ratios)",
                            ", ".join(f"{r:,.0f}× ({what})" for r, what in ratios),
                            verdict(low >= 100)))
        else:
            targets.append((f"≥ 100× the throughput of {LABEL[t]}", "not measured", "not measured"))

    # ---- criterion
    w("## 3. Criterion (`cargo bench --bench engine`)")
    w("")
    if crit:
        w("One replication per iteration on one core; `thrpt:` is criterion's printed")
        w("[lower, estimate, upper] (elements = events per second); the median column is")
        w("elements / median iteration time.")
        w("")
        w("| benchmark | elements/iteration | thrpt: (as printed) | median |")
        w("|---|---|---|---|")
        for k in sorted(crit):
            c = crit[k]
            w(f"| `{k}` | {c.get('elements', 'n/a'):,} | {c.get('printed', 'n/a')} | "
              + (f"{fmt_rate(c['median_eps'])}elem/s" if c.get("median_eps") else "n/a") + " |")
    else:
        w("Not measured in this run (the bench was skipped or failed; see target/perf/bench.txt).")
    w("")

    # ---- memory
    w("## 4. Memory over long runs")
    w("")
    w("Peak resident set size (`/usr/bin/time -v`, maximum RSS) of `resim run` on the")
    w("M/M/4/50 station at 64/s with 1 replication, for two run lengths. Target: the two")
    w("within 10% of each other and under 100 MB (memory must not grow with the run).")
    w("")
    w("| arrivals (expected) | simulated time | events | wall | peak RSS |")
    w("|---|---|---|---|---|")
    mems = []
    for n in a.mem:
        tv = os.path.join(D, f"mem-{n}.time")
        if not os.path.exists(tv):
            w(f"| {pow10(n)} | | | | not measured |")
            continue
        t = parse_time_v(tv)
        o = parse_resim_stdout(os.path.join(D, f"mem-{n}.txt")) or {}
        rss = t.get("max_rss_kb")
        mems.append(rss)
        w(f"| {pow10(n)} | {n // 64:,} s ({n // 64 / 86400:.1f} days) | {o.get('events', math.nan):.3e} | "
          f"{t.get('elapsed_s', math.nan):.1f} s | {rss / 1024:.1f} MiB |" if rss else f"| {pow10(n)} | | | | failed |")
    if len(mems) == 2 and all(mems):
        growth = mems[1] / mems[0] - 1
        ok = abs(growth) <= 0.10 and max(mems) < 100 * 1024
        w("")
        longer = f"{pow10(a.mem[1])} vs {pow10(a.mem[0])} arrivals"
        w(f"Growth from the shorter to the {a.mem[1] // a.mem[0]}× longer run: {growth * 100:+.1f}%; largest "
          f"{max(mems) / 1024:.1f} MiB. Target (within 10%, under 100 MB): **{'met' if ok else 'NOT met'}**.")
        targets.append((f"Peak RSS, {longer}: within 10%, under 100 MB",
                        f"{growth:+.1%}, largest {max(mems) / 1024:.1f} MiB", verdict(ok)))
    w("")

    # ---- scaling
    w("## 5. Two-thread scaling")
    w("")
    w("Two workloads of the M/M/4/50 station, each run as a whole process with `--jobs 1` and")
    w(f"`--jobs 2`, {a.scaling_duration:g} s simulated per replication:")
    w("")
    w("- **replications**: `resim run` of 8 replications;")
    w("- **sweep points**: `resim sweep` of 4 points (`services.api.servers=4..7`) × 2 replications.")
    w("")
    w(f"Each is timed in {a.scaling_reps} `--jobs 2` processes and {a.scaling_reps + 1} `--jobs 1` processes,")
    w("alternating (1, 2, 1, 2, ..., 2, 1), wall time by `/usr/bin/time -v`. The machine is shared")
    w("and its speed drifts by tens of percent within minutes, so each `--jobs 2` run is compared")
    w("with the mean of the `--jobs 1` runs just before and after it (seconds away on either")
    w("side), as the side-by-side runs of section 2 are. The speed-up is the **median of those")
    w("ratios**; the ratio of the median walls is given beside it. `CPU` is the share of a core")
    w("the process got (200% = both cores all the time). Target: speed-up ≥ 1.8×.")
    w("")
    probes = []
    for name in ("cpu-probe-before.json", "cpu-probe-after.json"):
        try:
            probes.append(json.load(open(os.path.join(D, name)))["capacity"])
        except (OSError, ValueError, KeyError):
            pass
    measured = False
    for kind, label, what in (("run", "replications", "report.json"), ("sweep", "sweep points", "sweep.json")):
        timed = {out: parse_time_v(out + ".time") for out in run_order(D, f"scale-{kind}-")}
        # (--jobs 1 run before, --jobs 2 run, --jobs 1 run after), as they ran
        triples = [tuple(timed[out] for out in x) + (x[1],)
                   for x in bracketed(list(timed), lambda out: "-j1-" in os.path.basename(out))]
        triples = [x for x in triples if all(t.get("elapsed_s") for t in x[:3])]
        if not triples:
            continue
        measured = True
        ratios = [(b["elapsed_s"] + c["elapsed_s"]) / 2 / t2["elapsed_s"] for b, t2, c, _ in triples]
        speedup = median(ratios)
        ones = [t for out, t in timed.items() if "-j1-" in os.path.basename(out) and t.get("elapsed_s")]
        twos = [t2 for _, t2, _, _ in triples]
        of_medians = median([t["elapsed_s"] for t in ones]) / median([t["elapsed_s"] for t in twos])
        w(f"### {label.capitalize()}")
        w("")
        w("| --jobs 2 run | --jobs 1 before (CPU) | --jobs 2 wall (CPU) | --jobs 1 after (CPU) | ratio |")
        w("|---|---|---|---|---|")
        cell = lambda t: f"{t['elapsed_s']:.2f} s ({t.get('cpu_percent', math.nan):.0f}%)"  # noqa: E731
        for (b, t2, c, out), q in zip(triples, ratios):
            w(f"| {out.rsplit('-', 1)[1]} | {cell(b)} | {cell(t2)} | {cell(c)} | {q:.2f}× |")
        w("")
        ok = speedup >= 1.8
        w(f"Speed-up of `--jobs 2` over `--jobs 1`: **{speedup:.2f}×** (median of {len(ratios)} ratios; ratio of")
        w(f"the median walls {of_medians:.2f}×; ratios range {min(ratios):.2f}–{max(ratios):.2f}×). "
          f"Target ≥ 1.8×: **{'met' if ok else 'NOT met'}**.")
        u1 = median([t.get("user_s", math.nan) for t in ones])
        u2 = median([t.get("user_s", math.nan) for t in twos])
        w(f"CPU time in user mode (median): {u1:.2f} s with one thread, {u2:.2f} s with two.")
        targets.append((f"2 jobs ≥ 1.8× faster than 1 ({label})",
                        f"{speedup:.2f}× (median of {len(ratios)} bracketed runs)", verdict(ok)))
        # The same work must give identical output whatever the number of threads.
        try:
            outputs = [open(os.path.join(out, what)).read() for out in timed]
            same = all(x == outputs[0] for x in outputs)
            w(f"Every run's `{what}` is {'byte-identical' if same else '**different**'}, `--jobs 1` and `--jobs 2` alike.")
            if not same:
                problems.append(f"--jobs 1 and --jobs 2 {what} differ")
        except OSError:
            pass
        w("")
    if not measured:
        w("Not measured in this run.")
        w("")
    elif probes:
        w("Probe of the machine (`benches/peers/cpu_probe.py`, just before and after these runs):")
        w("two CPU-bound processes together did " + " and ".join(f"{c:.2f}×" for c in probes)
          + " the work of one alone")
        w("(2.00× = two free cores). This bounds what any program could gain from a second")
        w("thread at that moment.")
        w("")

    # ---- commands
    w("## Commands")
    w("")
    w("`scripts/perf.sh` ran, in this order (from the repository root; `target/perf/resim` is")
    w("a copy of `target/release/resim` taken right after `cargo build --release`, so that a")
    w("concurrent rebuild cannot change the binary between measurements):")
    w("")
    w("```sh")
    w("python3 -m venv target/peers-venv && target/peers-venv/bin/pip install -r benches/peers/requirements.txt")
    w("cargo build --release && cp target/release/resim target/perf/resim")
    try:
        for line in open(os.path.join(D, "commands.txt")):
            w(line.rstrip())
    except OSError:
        pass
    w("```")
    w("")
    w("Models: `benches/peers/mmck.yaml` and `benches/peers/network.yaml` (resim; the")
    w("constants MMCK and NETWORK of `benches/engine.rs` with the run length on the command")
    w("line), `benches/peers/simpy_models.py`, `benches/peers/ciw_models.py` (both read the")
    w("workloads from `benches/peers/common.py`); `benches/peers/report.py` wrote this page.")
    w("Installed Python packages: " + ", ".join(readf("pip-freeze.txt").split()) + ".")
    w("")

    # ---- caveats
    w("## What this does and does not show")
    w("")
    w("- The peers are pure-Python event loops (SimPy: generator processes; Ciw: a")
    w("  next-event scan over nodes); resim is compiled Rust with an integer clock. The ratio")
    w("  is the cost of the same model in each tool, not a judgement of their design goals:")
    w("  SimPy and Ciw are general and easy to extend.")
    w("- resim's CLI rate includes building the report (histogram merges, statistics); the")
    w("  peers' rates exclude their record analysis. The criterion rate (one replication per")
    w("  iteration, outlier-robust median) is the reference figure for the engine's own")
    w("  targets; the comparison with the peers is the paired CLI figure, which carries the")
    w("  report's cost and is taken at the same machine speed as the peer it is paired with.")
    w("- The CLI does the same work per event as the bench: under callgrind, 10 replications of")
    w("  M/M/4/50 through `resim run` executed 4.673·10⁹ instructions against 4.596·10⁹ for a loop")
    w("  calling `run_replication` (+1.7%, the report), and timed alternately the two took the")
    w("  same wall time within noise (measured on commit 75f7d0c). A wider gap between the CLI and")
    w("  criterion rates above is the machine's speed moving between the two steps of the script.")
    w("- Timings were taken on a shared 2-core machine while other work ran (see the load")
    w("  averages above); the min – max spread of each rate shows how much that moved them.")
    w("- Each tool uses its own random streams, so the estimates differ by sampling noise;")
    w("  agreement is a statistical statement, not equality. All three are seeded, so the")
    w("  estimates in section 1 (unlike the timings) are the same on every run of the script.")
    if problems:
        w("")
        w("**Problems found in this run:**")
        w("")
        for p in problems:
            w(f"- {p}")
    w("")

    profile_section(w, D)

    table = ["## Targets (issue 7)", "",
             "Each figure is measured below in this document; this table only gathers them.", "",
             "| target | measured | verdict |", "|---|---|---|"]
    table += [f"| {t} | {m} | {v} |" for t, m, v in targets]
    table.append("")
    L[targets_at:targets_at] = table

    os.makedirs(os.path.dirname(os.path.abspath(a.doc)), exist_ok=True)
    # Sections measured by other scripts (scale.sh, callgrind by hand) follow the marker
    # and are kept as they are: this script regenerates only what comes before it.
    try:
        old = open(a.doc).read()
    except OSError:
        old = ""
    if KEPT_MARKER in old:
        L.append("")
        L.append(old[old.index(KEPT_MARKER):].rstrip("\n"))
    tmp = a.doc + ".tmp"
    with open(tmp, "w") as f:
        f.write("\n".join(L))
    os.replace(tmp, a.doc)
    for p in problems:
        print("problem:", p, file=sys.stderr)


if __name__ == "__main__":
    main()

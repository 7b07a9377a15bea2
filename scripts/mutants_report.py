#!/usr/bin/env python3
"""The table and the survivors of docs/MUTATION.md, from cargo-mutants output folders.

    mutants_report.py [--listing FILE] [--reasons FILE] OUTPUT_FOLDER...

Several folders (runs over different files, or one file's phases) are merged; a mutant
seen in more than one keeps its last outcome, so pass them oldest first. `--listing`
("COUNT FILE" rows, as scripts/mutants.sh writes them) says how many mutants each file
has, so a file cut short shows as such. `--reasons` (docs/mutation-survivors.tsv: the
mutant as cargo-mutants names it, a tab, why it survives) gives each missed mutant its
reason; one without a reason is flagged.
"""
import argparse
import collections
import pathlib

KINDS = ["caught", "missed", "timeout", "unviable"]
AREAS = ["src/policy/", "src/theory/", "src/engine/"]

parser = argparse.ArgumentParser()
parser.add_argument("--listing", type=pathlib.Path)
parser.add_argument("--reasons", type=pathlib.Path)
parser.add_argument("outs", nargs="+", type=pathlib.Path)
args = parser.parse_args()

outcome = {}
for out in args.outs:
    for kind in KINDS:
        path = out / f"{kind}.txt"
        if path.exists():
            for line in path.read_text().splitlines():
                # Phase 2 enters phase 1's timeouts as caught, to skip them: keep "timeout".
                if line.strip() and not (kind == "caught" and outcome.get(line) == "timeout"):
                    outcome[line] = kind
per_file = collections.defaultdict(collections.Counter)
for line, kind in outcome.items():
    per_file[line.split(":", 1)[0]][kind] += 1

listed = {}
if args.listing:
    for row in args.listing.read_text().splitlines():
        count, name = row.split(maxsplit=1)
        listed[name] = int(count)

reasons = {}
if args.reasons:
    for row in args.reasons.read_text().splitlines():
        if row.strip() and not row.startswith("#"):
            mutant, why = row.split("\t", 1)
            reasons[mutant] = why


def score(c):
    viable = c["caught"] + c["missed"] + c["timeout"]
    # A mutant that hangs the tests is caught by the timeout: it changed behaviour.
    return f"{100 * (c['caught'] + c['timeout']) / viable:.1f}%" if viable else "n/a"


def row(name, c, note=""):
    cells = " | ".join(str(c[k]) for k in KINDS)
    return f"| {name}{note} | {cells} | {score(c)} |"


print("| file | caught | missed | timeouts | unviable | score |")
print("|---|---:|---:|---:|---:|---:|")
totals = collections.defaultdict(collections.Counter)
not_run = []
for name in sorted(set(per_file) | set(listed)):
    c = per_file[name]
    tested = sum(c.values())
    if not tested:
        if listed.get(name):
            not_run.append(name)
        continue
    note = ""
    if name in listed and tested < listed[name]:
        note = f" ({tested} of {listed[name]})"
    print(row(f"`{name}`", c, note))
    area = next((a for a in AREAS if name.startswith(a)), "other")
    totals[area].update(c)
    totals["all"].update(c)
for area in AREAS + ["all"]:
    if sum(totals[area].values()):
        print(row(f"**{area.rstrip('/') if area != 'all' else 'all'}**", totals[area]))

if not_run:
    names = ", ".join(f"`{n}` ({listed[n]})" for n in not_run)
    print(f"\nNot run yet ({sum(listed[n] for n in not_run)} mutants): {names}.")
print("\n### Missed mutants\n")
missed = sorted(line for line, kind in outcome.items() if kind == "missed")
if not missed:
    print("None.")
for line in missed:
    print(f"- `{line}`: {reasons.get(line, '**no reason recorded yet**')}")

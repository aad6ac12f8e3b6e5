#!/usr/bin/env python3
"""Plain-Python funnel reference for analytics/behaviour (docs/segments.md "Funnels"), written apart from the
C++ code: for every step-1 event in range it searches all later matching events (depth-first, no greedy
shortcut) for the deepest chain within the window, keeps the earliest start that reaches the customer's deepest
level, and takes the times of that start's earliest chain.

Usage: funnel_reference.py EVENTS.csv WINDOW_MS FROM_MS|- TO_MS|- STEP...
EVENTS.csv: customer,ts_ms,id,name,category (rows in any order). STEP: "Name" or "Name:category=value".
Prints one line per step: "customers median_seconds|none".
"""
import csv
import statistics
import sys
from collections import defaultdict

path, window, start_from, start_to = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
steps = []
for arg in sys.argv[5:]:
    name, _, condition = arg.partition(":")
    steps.append((name, condition.split("=", 1)[1] if condition else None))

events = defaultdict(list)
with open(path, newline="") as f:
    for row in csv.DictReader(f):
        events[row["customer"]].append((int(row["ts_ms"]), int(row["id"]), row["name"], row["category"]))


def matches(event, step):
    name, category = steps[step]
    return event[2] == name and (category is None or event[3] == category)


def chains(seq, i, step, start_ts):
    """Every chain of (index per step) continuing from seq[i] at `step`, within the window."""
    if step == len(steps) - 1:
        return [[i]]
    found = [[i]]
    for j in range(i + 1, len(seq)):
        if seq[j][0] - start_ts > window:
            break
        if matches(seq[j], step + 1):
            found += [[i] + rest for rest in chains(seq, j, step + 1, start_ts)]
    return found


reached = [0] * len(steps)
deltas = [[] for _ in steps]
for customer, seq in events.items():
    seq.sort()
    best = None
    for i, e in enumerate(seq):
        if not matches(e, 0):
            continue
        if start_from != "-" and e[0] < int(start_from):
            continue
        if start_to != "-" and e[0] >= int(start_to):
            continue
        all_chains = chains(seq, i, 0, e[0])
        depth = max(len(c) for c in all_chains)
        # The earliest chain of that depth: lexicographically smallest index list.
        chain = min(c for c in all_chains if len(c) == depth)
        if best is None or depth > len(best):
            best = chain
    if best is None:
        continue
    for k, index in enumerate(best):
        reached[k] += 1
        if k > 0:
            deltas[k].append((seq[index][0] - seq[best[k - 1]][0]) / 1000.0)

for k in range(len(steps)):
    median = statistics.median(deltas[k]) if k > 0 and deltas[k] else None
    print(reached[k], "none" if median is None else repr(float(median)))

"""Draws orders/s and P99 latency against concurrency, one line per database, from the runs
load/sweep/run.sh keeps (<database>-<concurrency>.json, shop-load's --json).

Usage: python3 load/sweep/plot.py RUNS_DIR OUT.svg  (needs matplotlib)
"""

import json
import pathlib
import sys
from collections import defaultdict

import matplotlib

matplotlib.use("svg")
import matplotlib.pyplot as plt  # noqa: E402

runs, out = pathlib.Path(sys.argv[1]), sys.argv[2]
lines = defaultdict(list)
for path in sorted(runs.glob("*-*.json")):
    database = path.stem.rsplit("-", 1)[0]
    report = json.loads(path.read_text())
    lines[database].append(
        (report["concurrency"], report["orders_per_second"], report["latency_ms"]["p99"])
    )
if not lines:
    sys.exit(f"no runs in {runs}")

fig, (rate, p99) = plt.subplots(1, 2, figsize=(10, 4))
for database, points in sorted(lines.items()):
    points.sort()
    xs = [c for c, _, _ in points]
    rate.plot(xs, [r for _, r, _ in points], marker="o", label=database)
    p99.plot(xs, [l for _, _, l in points], marker="o", label=database)
for ax, title, unit in ((rate, "completed orders/s", "orders/s"), (p99, "P99 latency", "ms")):
    ax.set_xscale("log", base=2)
    ax.set_xlabel("shoppers ordering at once (shop-load --concurrency)")
    ax.set_ylabel(unit)
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
p99.set_yscale("log")
fig.tight_layout()
fig.savefig(out, metadata={"Date": None})
print(f"wrote {out}")

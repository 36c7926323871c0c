"""Foundation figures: demo build, open + first 200 by title, filtered full-text search,
peak memory, and ``--version`` start-up, for 300 / 10,000 / 100,000 measures.

Usage: python benchmarks/bench_foundation.py [--sizes 300 10000 100000] [--runs 3] [--keep DIR]
Each figure is the median of ``--runs`` runs; every run is its own process (cold caches of
Python, warm OS file cache), so the numbers are what a user sees when starting a command.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROBE = r"""
import json, resource, statistics, sys, time
t0 = time.perf_counter()
from integrationsplaner.domain.model import MeasureFilter
from integrationsplaner.services import measures
from integrationsplaner.services.workspace import open_workspace
t_import = time.perf_counter() - t0
t1 = time.perf_counter()
ws = open_workspace(sys.argv[1])
rows = measures.list_measures(ws, sort="title", limit=200)
t_open = time.perf_counter() - t1
assert len(rows) == 200
searches = []
queries = [("sprach", (1,), (), ("laufend",)), ("netzwerk ehrenamt", (5,), ("vg-landstuhl",), ()),
           ("kita", (), (), ("abgeschlossen",)), ("jobbörse", (3,), (), ()),
           ("wohnraum", (4,), ("kreis-kl", "vg-weilerbach"), ("laufend", "geplant"))]
for _ in range(5):
    for text, areas, offices, statuses in queries:
        t = time.perf_counter()
        flt = MeasureFilter(text=text, action_areas=areas, offices=offices, statuses=statuses)
        found = measures.list_measures(ws, flt, limit=200)
        searches.append(time.perf_counter() - t)
ws.close()
print(json.dumps({"import": t_import, "open_list": t_open,
                  "search_median": statistics.median(searches),
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run(cmd: list[str]) -> tuple[float, str, float]:
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t = time.perf_counter()
    result = subprocess.run(cmd, capture_output=True, text=True, check=True)
    elapsed = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return elapsed, result.stdout, max(peak, before) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[300, 10_000, 100_000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--demo-runs", type=int, default=None,
                        help="runs of the demo build (default: --runs; 100k takes a minute each)")
    parser.add_argument("--keep", type=Path, help="keep the databases in this folder")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="ip-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    exe = [sys.executable, "-m", "integrationsplaner"]

    versions = [run([*exe, "--version"])[0] for _ in range(max(args.runs, 5))]
    print(f"--version: median {statistics.median(versions):.3f} s (target ≤ 0.3 s)")
    print()
    header = (f"{'measures':>9} | {'demo s':>7} | {'demo MB':>7} | {'open+200 s':>10} | "
              f"{'search ms':>9} | {'probe MB':>8}")
    print(header)
    print("-" * len(header))
    for size in args.sizes:
        db = folder / f"bench-{size}.sqlite"
        demo_times, demo_peaks = [], []
        for _ in range(args.demo_runs or args.runs):
            for suffix in ("", "-wal", "-shm", ".lock"):
                Path(f"{db}{suffix}").unlink(missing_ok=True)
            shutil.rmtree(folder / "Sicherungen", ignore_errors=True)
            elapsed, _out, peak = run([*exe, "demo", "--db", str(db), "--measures", str(size)])
            demo_times.append(elapsed)
            demo_peaks.append(peak)
        probes = [json.loads(run([sys.executable, "-c", PROBE, str(db)])[1])
                  for _ in range(args.runs)]
        print(f"{size:>9} | {statistics.median(demo_times):>7.1f} | "
              f"{max(demo_peaks):>7.0f} | "
              f"{statistics.median(p['open_list'] for p in probes):>10.3f} | "
              f"{statistics.median(p['search_median'] for p in probes) * 1000:>9.1f} | "
              f"{max(p['peak_mb'] for p in probes):>8.0f}")
    print()
    print("Targets (100,000 measures): demo ≤ 60 s, open + first 200 by title ≤ 0.3 s, "
          "filtered full-text search ≤ 50 ms median.")
    print("demo MB is the largest peak RSS of any child process so far (ru_maxrss); "
          "open+200 excludes Python's import time.")
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()

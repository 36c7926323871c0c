"""Benchmark of the printed reports (issue 5).

Figures and limits:
- 500 evaluation sheets (filled and blank): ≤ 6 s each;
- the half-year review report covering at least 300 running measures: ≤ 5 s;
- the catalogue of 10,000 measures: completes with peak memory ≤ 500 MB.

Wall-clock medians are the figures; the CPU-time medians beside them show how much of a slow
run was a busy machine. Every measurement runs in its own process (so its peak RSS is its own,
and fonts are loaded as in a real run) several times; the medians are printed. Demo databases
are built once in the work folder and reused.

    python benchmarks/bench_reports.py [--runs 3] [--work DIR] [--skip-catalogue]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

TODAY = date(2026, 11, 23)
LIMITS = {"sheets": 6.0, "sheets_blank": 6.0, "review": 5.0}
MEMORY_LIMIT_MB = 500


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _database(work: Path, measures: int) -> Path:
    from integrationsplaner.services import demo
    from integrationsplaner.services.workspace import create_workspace

    path = work / f"demo-{measures}.sqlite"
    if not path.exists():
        with create_workspace(path, "kreis-kl", user="bench") as ws:
            demo.generate(ws, measures, seed=7, today=TODAY)
    return path


def phase(args: argparse.Namespace) -> dict:
    """One measurement, in this process."""
    from integrationsplaner.domain.periods import HalfYear
    from integrationsplaner.reports.catalogue import build_catalogue
    from integrationsplaner.reports.review import build_review
    from integrationsplaner.reports.sheets import write_sheets
    from integrationsplaner.services import reporting
    from integrationsplaner.services.workspace import open_workspace

    out = Path(args.out)
    with open_workspace(args.db, readonly=True) as ws:
        start, cpu = time.perf_counter(), time.process_time()
        if args.phase.startswith("sheets"):
            period = HalfYear.parse(args.period)
            rows = reporting.measure_outline(ws, reporting.MeasureScope(period=period))
            ids = [r.id for r in rows][:500]
            if len(ids) < 500:
                raise SystemExit(f"only {len(ids)} measures run in {period}")
            start, cpu = time.perf_counter(), time.process_time()
            pages = write_sheets(ws, period, ids, out, scope="Benchmark",
                                 blank=args.phase == "sheets_blank")
        elif args.phase == "review":
            # offices in reference order until at least 300 measures run in the period
            period = HalfYear.parse(args.period)
            offices: list[str] = []
            for key in ws.reference.office_keys():
                offices.append(key)
                scope = reporting.MeasureScope(offices=tuple(offices), period=period)
                if len(reporting.measure_outline(ws, scope)) >= 300:
                    break
            running = len(reporting.measure_outline(ws, scope))
            start, cpu = time.perf_counter(), time.process_time()
            pages = build_review(ws, period, out, offices=tuple(offices))
        else:
            pages = build_catalogue(ws, out)
        seconds = time.perf_counter() - start
        cpu = time.process_time() - cpu
    result = {"seconds": seconds, "cpu": cpu, "pages": pages, "rss_mb": _rss_mb()}
    if args.phase == "review":
        result["measures"] = running
    return result


def _run(phase_name: str, db: Path, period: str, out: Path) -> dict:
    result = subprocess.run(
        [sys.executable, __file__, "--phase", phase_name, "--db", str(db), "--period", period,
         "--out", str(out)], capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def _accelerated() -> bool:
    try:
        import _rl_accel  # noqa: F401
    except ImportError:
        return False
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "ip-bench")
    parser.add_argument("--skip-catalogue", action="store_true")
    parser.add_argument("--phase")
    parser.add_argument("--db")
    parser.add_argument("--period", default="2025-H1")
    parser.add_argument("--out")
    args = parser.parse_args()
    if args.phase:
        print(json.dumps(phase(args)))
        return 0

    args.work.mkdir(parents=True, exist_ok=True)
    print(f"reportlab C accelerator (rl_accel): {'ja' if _accelerated() else 'nein'}")
    big = _database(args.work, 3000)  # the busiest half-year has more than 500 running
    ok = True
    plan = [("sheets", big, "2025-H1"), ("sheets_blank", big, "2025-H1"),
            ("review", big, "2025-H1")]
    for name, db, period in plan:
        results = [_run(name, db, period, args.work / f"{name}.pdf") for _ in range(args.runs)]
        median = statistics.median(r["seconds"] for r in results)
        limit = LIMITS[name]
        ok &= median <= limit
        runs = ", ".join(f"{r['seconds']:.2f}" for r in results)
        cpu = statistics.median(r["cpu"] for r in results)
        what = f" ({results[0]['measures']} Maßnahmen)" if "measures" in results[0] else ""
        print(f"{name + what:26} {results[0]['pages']:>6} Seiten  Median {median:6.2f} s "
              f"(CPU {cpu:.2f} s; Läufe: {runs})  "
              f"Grenze {limit:.0f} s  {'OK' if median <= limit else 'ZU LANGSAM'}")
    if not args.skip_catalogue:
        huge = _database(args.work, 10_000)
        result = _run("catalogue", huge, "", args.work / "catalogue.pdf")
        fits = result["rss_mb"] <= MEMORY_LIMIT_MB
        ok &= fits
        print(f"{'catalogue':26} {result['pages']:>6} Seiten  {result['seconds']:6.1f} s  "
              f"Spitzenspeicher {result['rss_mb']:.0f} MB (Grenze {MEMORY_LIMIT_MB} MB)  "
              f"{'OK' if fits else 'ZU VIEL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

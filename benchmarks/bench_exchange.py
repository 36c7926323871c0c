"""Benchmark of the bundle exchange at state scale (issue 4).

Figures: full export of a 100,000-measure database; import of that bundle into a fresh Kreis
database; importing it again (no-op); peak memory of each; an incremental bundle after 10 edits
(size, import time). Every phase runs in its own process (so its peak RSS is its own) several
times; the medians are printed.

    python benchmarks/bench_exchange.py [--db BIG.sqlite] [--measures 100000] [--runs 3]
                                        [--only-export]

Without ``--db`` the demo database is built once (about a minute per 100,000 measures) in the
work folder and reused. The incremental phase records the recipient's acknowledgement directly
in the sender's database (as importing any bundle of the recipient would) to avoid a second full
export.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


_descendant_peaks: list[int] = []
_together: list[int] = []  # resident size (KiB) of this process and all below it, per sample


def _status_kib(pid: int | str, field: str) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _watch_descendants() -> None:
    """Sample the peak resident size (VmHWM, KiB) of every process below this one, and the
    resident size of all of them together with this one (Linux)."""
    import os
    import threading

    me = os.getpid()

    def parent_of(pid: str) -> int:
        with open(f"/proc/{pid}/stat") as handle:
            return int(handle.read().rsplit(")", 1)[1].split()[1])

    def sample() -> None:
        while True:
            parents: dict[int, int] = {}
            for pid in filter(str.isdigit, os.listdir("/proc")):
                try:
                    parents[int(pid)] = parent_of(pid)
                except (OSError, ValueError, IndexError):
                    continue
            together = _status_kib(me, "VmRSS") or 0
            for pid in parents:
                up = parents.get(pid)
                while up is not None and up != me:
                    up = parents.get(up)
                if up != me:
                    continue
                peak = _status_kib(pid, "VmHWM")
                if peak is not None:
                    _descendant_peaks.append(peak)
                    together += _status_kib(pid, "VmRSS") or 0
            _together.append(together)
            time.sleep(0.2)

    threading.Thread(target=sample, daemon=True).start()


def phase(args: argparse.Namespace) -> dict:
    from integrationsplaner.exchange.export import export_bundle
    from integrationsplaner.exchange.importer import apply_import, prepare_import
    from integrationsplaner.services.workspace import create_workspace, open_workspace

    result: dict = {}
    _watch_descendants()
    if args.phase == "export":
        with open_workspace(args.db, user="bench") as ws:
            start, cpu = time.perf_counter(), time.process_time()
            out = export_bundle(ws, Path(args.out), to=args.to)
            result["seconds"] = time.perf_counter() - start
            result["cpu_seconds"] = time.process_time() - cpu
            result["bytes"] = out.size
            result["records"] = out.total
    elif args.phase in ("import", "reimport"):
        path = Path(args.db)
        if args.phase == "import":
            for suffix in ("", "-wal", "-shm"):
                Path(str(path) + suffix).unlink(missing_ok=True)
            create_workspace(path, "kreis-kl", user="bench").close()
        with open_workspace(path, user="bench") as ws:
            start = time.perf_counter()
            plan = prepare_import(ws, Path(args.bundle), trust_new_sender=True)
            result["plan_seconds"] = time.perf_counter() - start
            with plan:
                t = time.perf_counter()
                applied = apply_import(ws, plan, exclusive=True)  # as the command line
                result["apply_seconds"] = time.perf_counter() - t
            result["seconds"] = time.perf_counter() - start
            result["summary"] = applied.summary
            result["applied"] = applied.applied
    elif args.phase == "edit":
        from integrationsplaner.services import measures
        from integrationsplaner.store.exchange_models import Acknowledgement

        with open_workspace(args.db, user="bench") as ws:
            with ws.db.read() as session:
                from sqlalchemy import func, select

                from integrationsplaner.store.exchange_models import JournalEntry
                from integrationsplaner.store.models import Measure

                top = session.scalar(select(func.max(JournalEntry.seq)))
                ids = session.scalars(select(Measure.id).where(
                    Measure.office_key == ws.office_key, Measure.deleted.is_(False))
                    .order_by(Measure.seq).limit(10)).all()
            if args.ack:
                with ws.db.transaction() as session:
                    from integrationsplaner.store.database import utcnow

                    session.merge(Acknowledgement(office_key="kreis-kl", replica_id="bench-b",
                                                  acked_seq=int(top), updated_at=utcnow()))
            for n, mid in enumerate(ids):
                data = measures.get_measure(ws, mid)
                data.description = f"{data.description} (Änderung {time.time():.0f}/{n})"
                measures.save_measure(ws, data)
    result["peak_mb"] = _rss_mb()
    # the import validates large entries in worker processes (children of a fork server, not
    # of this process): their own peak, the largest one, as sampled while they ran
    result["worker_peak_mb"] = max(_descendant_peaks, default=0) / 1024
    result["together_peak_mb"] = max(_together, default=0) / 1024
    return result


def run_phase(*argv: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--phase", *argv], check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", type=Path)
    parser.add_argument("--measures", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--work", type=Path, default=Path("/tmp/ip-bench-exchange"))
    parser.add_argument("--phase")
    parser.add_argument("--out")
    parser.add_argument("--to")
    parser.add_argument("--bundle")
    parser.add_argument("--ack", action="store_true")
    parser.add_argument("--only-export", action="store_true",
                        help="measure the full export only (the imports take minutes)")
    args = parser.parse_args()
    if args.phase:
        if args.db is not None:
            args.db = str(args.db)
        print(json.dumps(phase(args)))
        return
    from machine import reference_us

    reference_before = reference_us()
    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    big = args.db or work / f"demo-{args.measures}.sqlite"
    if not big.exists():
        print(f"building demo database with {args.measures} measures …", flush=True)
        subprocess.run([sys.executable, "-m", "integrationsplaner", "demo", "--db", str(big),
                        "--measures", str(args.measures)], check=True)
    sender = work / "sender.sqlite"
    shutil.copy(big, sender)
    for suffix in ("-wal", "-shm"):
        Path(str(sender) + suffix).unlink(missing_ok=True)
    from integrationsplaner.services.workspace import open_workspace

    open_workspace(sender).close()  # migrate once, outside the measurements

    bundle = work / "full.ipbundle"
    exports = [run_phase("export", "--db", str(sender), "--out", str(bundle))
               for _ in range(args.runs)]
    if args.only_export:
        for e in exports:
            print(f"full export: {e['seconds']:5.1f} s wall, {e['cpu_seconds']:5.1f} s CPU, "
                  f"peak {e['peak_mb']:.0f} MB")
        print(f"reference loop (machine speed): {reference_before:.1f} µs before")
        print(f"median {statistics.median(e['seconds'] for e in exports):.1f} s wall, "
              f"{statistics.median(e['cpu_seconds'] for e in exports):.1f} s CPU "
              f"(target ≤ 15 s); {exports[0]['records']:,} records, "
              f"bundle {exports[0]['bytes'] / 1e6:.0f} MB")
        return
    target = work / "target.sqlite"
    imports = []
    for _ in range(args.runs):
        shutil.rmtree(work / "Sicherungen", ignore_errors=True)
        imports.append(run_phase("import", "--db", str(target), "--bundle", str(bundle)))
    noops = [run_phase("reimport", "--db", str(target), "--bundle", str(bundle))
             for _ in range(args.runs)]
    incremental = []
    for n in range(args.runs):
        run_phase("edit", "--db", str(sender), *(["--ack"] if n == 0 else []))
        inc = work / f"inc{n}.ipbundle"
        exp = run_phase("export", "--db", str(sender), "--out", str(inc), "--to", "kreis-kl")
        imp = run_phase("reimport", "--db", str(target), "--bundle", str(inc))
        incremental.append((exp, imp))

    def med(values: list[float]) -> float:
        return statistics.median(values)

    records = exports[0]["records"]
    print(f"database: {args.measures:,} measures, {records:,} records in the bundle")
    print(f"full export:      median {med([e['seconds'] for e in exports]):6.1f} s   "
          f"(target ≤ 15 s), bundle {exports[0]['bytes'] / 1e6:.0f} MB, "
          f"peak {max(e['peak_mb'] for e in exports):.0f} MB")
    print(f"import (fresh):   median {med([i['seconds'] for i in imports]):6.1f} s   "
          f"(target ≤ 30 s; check+plan {med([i['plan_seconds'] for i in imports]):.1f} s, "
          f"backup+apply {med([i['apply_seconds'] for i in imports]):.1f} s), "
          f"peak {max(i['peak_mb'] for i in imports):.0f} MB "
          f"(+ each validation worker ≤ {max(i.get('worker_peak_mb', 0) for i in imports):.0f} MB; "
          f"all at once ≤ {max(i.get('together_peak_mb', 0) for i in imports):.0f} MB, sampled)")
    print(f"re-import no-op:  median {med([i['seconds'] for i in noops]):6.1f} s   "
          f"(target ≤ 10 s), applied={noops[0]['applied']}, "
          f"peak {max(i['peak_mb'] for i in noops):.0f} MB")
    print(f"incremental (10 edits): median size "
          f"{med([e['bytes'] for e, _i in incremental]) / 1024:.1f} KB, "
          f"{incremental[0][0]['records']} records; import median "
          f"{med([i['seconds'] for _e, i in incremental]):.2f} s (target < 1 s; of which "
          f"backup+apply {med([i['apply_seconds'] for _e, i in incremental]):.2f} s), "
          f"export median {med([e['seconds'] for e, _i in incremental]):.2f} s")
    print("peak memory target ≤ 500 MB")
    print(f"reference loop (machine speed): {reference_before:.1f} µs before, "
          f"{reference_us():.1f} µs after (about 7 µs in this VM's fast state)")


if __name__ == "__main__":
    main()

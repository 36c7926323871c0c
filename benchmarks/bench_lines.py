"""Benchmark of the record-line checks of the import: slow path (``loads_line`` and
``Validator.row``, as ``staging._validate_lines``) against the msgspec fast path
(``fastlines.validate_lines``), in µs per line for each entity.

    python benchmarks/bench_lines.py BUNDLE.ipbundle [--lines 20000] [--repeat 3]

The first ``--lines`` lines of each records entry are read into memory; each path runs
``--repeat`` times over them (alternating, so that a change of CPU speed hits both) and the best
run counts. The results of both paths are compared as well. A reference loop time
(``sum(range(1000))``) is printed before and after: this machine's CPU speed varies a lot, so
only figures with similar reference times are comparable.
"""

from __future__ import annotations

import argparse
import time
import zipfile
from pathlib import Path

from machine import reference_us


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("bundle", type=Path)
    parser.add_argument("--lines", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from integrationsplaner.domain.reference import load_reference
    from integrationsplaner.exchange import fastlines, staging
    from integrationsplaner.exchange.format import ENTITY_ORDER, ENTRY_OF, SPECS
    from integrationsplaner.exchange.lines import Validator

    ref = load_reference()
    validator = Validator.of(frozenset(ref.office_keys()),
                             frozenset(a.number for a in ref.action_areas),
                             frozenset(c.key for c in ref.concept_periods))
    print(f"reference loop before: {reference_us():.1f} µs")
    print(f"{'entity':<16} {'lines':>7} {'slow µs':>11} {'fast µs':>11} {'ratio':>7}  same")
    total_slow = total_fast = 0.0
    with zipfile.ZipFile(args.bundle) as zf:
        names = set(zf.namelist())
        for entity in ENTITY_ORDER:
            name = ENTRY_OF[entity]
            if name not in names:
                continue
            lines: list[bytes] = []
            with zf.open(name) as handle:
                for raw in handle:
                    if len(lines) >= args.lines:
                        break
                    lines.append(raw.rstrip(b"\n"))
            if not lines:
                continue
            spec = SPECS[entity]
            # warm up both (the fast path builds its Struct and caches at first use)
            staging._validate_lines(validator, spec, lines[:200], 0)
            fastlines.validate_lines(validator, spec, lines[:200], 0)
            slow_best = fast_best = float("inf")
            slow = fast = None
            for _ in range(args.repeat):
                start = time.perf_counter()
                slow = staging._validate_lines(validator, spec, lines, 0)
                slow_best = min(slow_best, time.perf_counter() - start)
                start = time.perf_counter()
                fast = fastlines.validate_lines(validator, spec, lines, 0)
                fast_best = min(fast_best, time.perf_counter() - start)
            same = slow == fast and slow is not None and fast is not None and all(
                type(a) is type(b) for r1, r2 in zip(slow[0], fast[0], strict=True)
                for a, b in zip(r1, r2, strict=True))
            n = len(lines)
            total_slow += slow_best
            total_fast += fast_best
            print(f"{entity:<16} {n:>7} {slow_best / n * 1e6:>11.1f} "
                  f"{fast_best / n * 1e6:>11.1f} {slow_best / fast_best:>6.1f}×  "
                  f"{'yes' if same else 'NO'}")
    if total_fast:
        print(f"{'all':<16} {'':>7} {total_slow:>10.2f}s {total_fast:>10.2f}s "
              f"{total_slow / total_fast:>6.1f}×")
    print(f"reference loop after: {reference_us():.1f} µs")


if __name__ == "__main__":
    main()

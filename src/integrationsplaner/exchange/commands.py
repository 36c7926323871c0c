"""The exchange commands of the CLI: export, import, rollback, conflicts, keys.

Exit codes: 0 applied or nothing to do; 1 rejected and nothing changed (``UserError``, printed
by the CLI); 3 applied with open conflicts.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from integrationsplaner.domain.formatting import format_datetime
from integrationsplaner.exchange import identity
from integrationsplaner.exchange.conflicts import list_conflicts
from integrationsplaner.exchange.export import export_bundle
from integrationsplaner.exchange.format import ENTITY_LABELS, escape_display
from integrationsplaner.exchange.importer import (
    apply_import,
    prepare_import,
    refusal_message,
)
from integrationsplaner.exchange.plan import CATEGORY_LABELS, ImportPlan
from integrationsplaner.exchange.planning import CATEGORIES
from integrationsplaner.exchange.reader import BundleError
from integrationsplaner.services.workspace import open_workspace

EXIT_OK = 0


def _print_json(data: Any) -> None:
    json.dump(data, sys.stdout, ensure_ascii=False, indent=1, default=str)
    sys.stdout.write("\n")


def export_command(args: argparse.Namespace) -> int:
    with open_workspace(args.db) as ws:
        result = export_bundle(ws, Path(args.out), to=args.to)
    what = ("Vollbündel für alle Dienststellen" if result.recipient == "*"
            else f"Bündel für {result.recipient} ({result.kind})")
    print(f"{what} geschrieben: {result.path}")
    print(f"{result.total} Datensätze, {result.size:,} Bytes.".replace(",", "."))
    return EXIT_OK


def _plan_text(plan: ImportPlan, limit: int = 50) -> list[str]:
    h = plan.header
    lines = [
        f"Bündel {h.bundle_id} von {plan.ws.reference.office(h.sender_office).name} "
        f"(Installation {h.sender_replica}, Fingerabdruck {h.short_fingerprint}), erstellt "
        f"{format_datetime(h.created_at)} UTC, "
        f"{'Vollbündel' if h.kind == 'voll' else 'inkrementell'}.",
        ", ".join(f"{CATEGORY_LABELS[c]}: {plan.summary[c]}" for c in CATEGORIES),
    ]
    if h.new_sender:
        lines.append(f"Neuer Absender: Schlüssel {h.short_fingerprint} wird als vertrauenswürdig "
                     "gespeichert.")
    for category in ("conflict", "changed", "deleted", "refused", "new"):
        items = plan.items(category, limit)
        if not items:
            continue
        lines.append(f"{CATEGORY_LABELS[category]}:")
        for item in items:
            head = f"  {ENTITY_LABELS[item.entity]} {item.label} [{item.office_key}]"
            if item.reason:
                head += f": {item.reason}"
            lines.append(head)
            for name, old, new in item.diffs:
                lines.append(f"    {name}: {old} → {new}")
            for name, shown, other in item.conflicts:
                lines.append(f"    Konflikt {name}: {shown} ⟷ {other}")
        if plan.summary[category] > limit:
            lines.append(f"  … und {plan.summary[category] - limit} weitere")
    return lines


def import_command(args: argparse.Namespace) -> int:
    with open_workspace(args.db) as ws:
        plan = prepare_import(ws, Path(args.file), trust_new_sender=args.trust_new_sender)
        with plan:
            if args.dry_run:
                if args.json:
                    _print_json(plan.as_dict())
                else:
                    print("\n".join(_plan_text(plan)))
                    print("Probelauf: es wurde nichts geändert.")
                if plan.rejected:
                    raise BundleError(refusal_message(plan))
                return EXIT_OK  # nothing applied: 3 means applied with open conflicts
            result = apply_import(ws, plan, exclusive=True)  # nothing else runs here
            if args.json:
                _print_json({"plan": plan.as_dict(), "ergebnis": result.as_dict()})
            else:
                print("\n".join(_plan_text(plan)))
                print(result.message)
                if result.backup:
                    print(f"Sicherung vor dem Import: {result.backup}")
            return result.exit_code


def conflicts_command(args: argparse.Namespace) -> int:
    with open_workspace(args.db) as ws:
        conflicts = list_conflicts(ws)
        if args.json:
            _print_json({"konflikte": [c.as_dict() for c in conflicts]})
        elif not conflicts:
            print("Keine offenen Konflikte.")
        else:
            print(f"{len(conflicts)} offene Konflikte:")
            for c in conflicts:
                print(f"  {c.entity_label} {c.label} [{c.office_key}], Feld „{c.field_label}“:")
                print(f"    angezeigt: {escape_display(c.current)}")
                for replica, counter, value in c.others:
                    print(f"    anderer Wert ({replica}/{counter}): {escape_display(value)}")
    return EXIT_OK


def keys_command(args: argparse.Namespace) -> int:
    with open_workspace(args.db) as ws:
        if args.keys_command == "export":
            info = identity.export_key_file(ws, Path(args.out))
            print(f"Öffentlicher Schlüssel von {info.office_key} gespeichert: {args.out}")
            print(f"Fingerabdruck: {info.short}")
            print("Geben Sie die Datei an die anderen Dienststellen weiter und nennen Sie den "
                  "Fingerabdruck am Telefon.")
        elif args.keys_command == "import":
            info, new = identity.import_key_file(ws, Path(args.file))
            name = ws.reference.office(info.office_key).name
            if new:
                print(f"Schlüssel von {name} eingelesen. Fingerabdruck: {info.short}")
                print("Vergleichen Sie den Fingerabdruck telefonisch mit der Dienststelle.")
            else:
                print(f"Der Schlüssel von {name} ist bereits bekannt ({info.short}).")
        else:
            for info in identity.list_keys(ws):
                own = " (eigener Schlüssel)" if info.own else ""
                print(f"{info.office_key:20} {info.short}  {info.source}{own}")
    return EXIT_OK


def rollback_command(args: argparse.Namespace) -> int:
    from integrationsplaner.exchange.rollback import rollback_import

    with open_workspace(args.db) as ws:
        result = rollback_import(ws, Path(args.file))
    print(result.message)
    print(f"Sicherung der Datenbank vor der Rücknahme: {result.backup}")
    return EXIT_OK

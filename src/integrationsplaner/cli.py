"""Command line (argparse, German help). A contract for other programs and acceptance checks:

exit 0 success, 1 rejected input (German message on stderr, nothing changed), 2 usage error,
3 bundle applied with open conflicts. Heavy modules are imported inside the commands so that
``--version`` and ``--help`` stay fast.
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

from integrationsplaner import __version__

EXIT_OK = 0
EXIT_REJECTED = 1
EXIT_USAGE = 2
EXIT_CONFLICTS = 3

_ARGPARSE_GERMAN = {
    "the following arguments are required: %s": "Diese Angaben fehlen: %s",
    "unrecognized arguments: %s": "Unbekannte Angaben: %s",
    "invalid choice: %(value)r (choose from %(choices)s)":
        "ungültige Auswahl: %(value)r (möglich: %(choices)s)",
    "argument %(argument_name)s: %(message)s": "Angabe %(argument_name)s: %(message)s",
    "expected one argument": "erwartet einen Wert",
    "invalid %(type)s value: %(value)r": "ungültiger Wert: %(value)r",
    "not allowed with argument %s": "nicht zusammen mit %s erlaubt",
    "one of the arguments %s is required": "Eine dieser Angaben ist nötig: %s",
    "ambiguous option: %(option)s could match %(matches)s":
        "mehrdeutige Option: %(option)s passt zu %(matches)s",
    "usage: ": "Aufruf: ",
    "positional arguments": "Argumente",
    "options": "Optionen",
    "show this help message and exit": "diese Hilfe anzeigen und beenden",
    "show program's version number and exit": "Versionsnummer anzeigen und beenden",
    "%(prog)s: error: %(message)s\n": "%(prog)s: Fehler: %(message)s\n",
}


def _german(message: str) -> str:
    return _ARGPARSE_GERMAN.get(message, message)


argparse._ = _german  # type: ignore[attr-defined]  # argparse looks its texts up through _()


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: Fehler: {message}\n")


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"„{text}“ ist keine ganze Zahl") from None
    if value < 0 or value > 1_000_000:
        raise argparse.ArgumentTypeError("erlaubt sind 0 bis 1.000.000")
    return value


def _db_arg(parser: argparse.ArgumentParser, required: bool = True) -> None:
    parser.add_argument("--db", type=Path, required=required, metavar="PFAD",
                        help="die Datenbankdatei (.sqlite)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="integrationsplaner",
        description="Integrationsplaner – Maßnahmen, Partner und Bewertungen des regionalen "
                    "Integrationskonzepts planen, austauschen und auswerten. Ohne Befehl startet "
                    "das Programmfenster.",
        epilog="Rückgabewerte: 0 erfolgreich, 1 Eingabe abgelehnt (nichts geändert), "
               "2 falscher Aufruf, 3 Bündel übernommen mit offenen Konflikten.",
    )
    parser.add_argument("--version", action="version", version=f"Integrationsplaner {__version__}",
                        help="Versionsnummer anzeigen und beenden")
    _db_arg(parser, required=False)
    parser.add_argument("--open", type=Path, nargs="?", metavar="BÜNDEL", dest="open_bundle",
                        help="eine Bündeldatei (.ipbundle) im Programmfenster zur Übernahme "
                             "öffnen (so startet auch ein Doppelklick auf ein Bündel)")
    sub = parser.add_subparsers(dest="command", metavar="BEFEHL", title="Befehle",
                                parser_class=_Parser)

    sub.add_parser("offices", help="Dienststellen mit ihren Schlüsseln auflisten")

    p = sub.add_parser("init", help="eine neue Datenbank für eine Dienststelle anlegen")
    _db_arg(p)
    p.add_argument("--office", required=True, metavar="SCHLÜSSEL",
                   help="Schlüssel der Dienststelle, z. B. vg-landstuhl (siehe „offices“)")

    p = sub.add_parser("demo", help="Beispieldaten anlegen oder hinzufügen")
    _db_arg(p)
    p.add_argument("--office", default="kreis-kl", metavar="SCHLÜSSEL",
                   help="Dienststelle einer neu angelegten Datenbank (Vorgabe: kreis-kl)")
    p.add_argument("--measures", type=_positive, default=300, metavar="N",
                   help="Anzahl der Maßnahmen (Vorgabe: 300)")
    p.add_argument("--seed", type=int, default=1, metavar="S",
                   help="Startwert des Zufallsgenerators; gleicher Wert, gleiche Daten")

    p = sub.add_parser("check", help="Datenbank auf Unversehrtheit prüfen")
    _db_arg(p)

    p = sub.add_parser("export", help="ein Bündel für eine andere Dienststelle erstellen")
    _db_arg(p)
    p.add_argument("--out", type=Path, required=True, metavar="DATEI", help="Zieldatei")
    target = p.add_mutually_exclusive_group()
    target.add_argument("--to", metavar="SCHLÜSSEL",
                        help="nur, was diese Dienststelle noch nicht bestätigt hat")
    target.add_argument("--full", action="store_true", help="alles (Vollbündel)")

    p = sub.add_parser("import", help="ein Bündel prüfen und übernehmen")
    _db_arg(p)
    p.add_argument("file", type=Path, metavar="DATEI", help="die Bündeldatei")
    p.add_argument("--dry-run", action="store_true", help="nur prüfen und Vorschau zeigen")
    p.add_argument("--json", action="store_true", help="Plan oder Ergebnis als JSON ausgeben")
    p.add_argument("--trust-new-sender", action="store_true",
                   help="einem noch unbekannten Absender beim ersten Import vertrauen")

    p = sub.add_parser("rollback", help="den letzten (kleinen) Import mit seiner "
                       "Rücksicherungsdatei aus „Sicherungen“ zurücknehmen")
    _db_arg(p)
    p.add_argument("file", type=Path, metavar="DATEI",
                   help="die Rücksicherungsdatei (*.vor-import.jsonl)")

    p = sub.add_parser("conflicts", help="offene Konflikte aus dem Austausch anzeigen")
    _db_arg(p)
    p.add_argument("--json", action="store_true", help="als JSON ausgeben")

    p = sub.add_parser("keys", help="Schlüssel der Dienststellen verwalten")
    keys = p.add_subparsers(dest="keys_command", metavar="AKTION", required=True,
                            parser_class=_Parser)
    k = keys.add_parser("export", help="den öffentlichen Schlüssel dieser Dienststelle speichern")
    _db_arg(k)
    k.add_argument("--out", type=Path, required=True, metavar="DATEI")
    k = keys.add_parser("import", help="den öffentlichen Schlüssel einer Dienststelle einlesen")
    _db_arg(k)
    k.add_argument("file", type=Path, metavar="DATEI")
    k = keys.add_parser("list", help="bekannte Schlüssel mit Fingerabdruck anzeigen")
    _db_arg(k)

    p = sub.add_parser("report", help="Berichte als PDF erstellen")
    p.add_argument("kind", choices=("sheets", "review", "catalogue", "partners"),
                   metavar="ART", help="sheets (Bewertungsbögen), review (Halbjahresbericht), "
                   "catalogue (Maßnahmenkatalog), partners (Partnerverzeichnis)")
    _db_arg(p)
    p.add_argument("--period", metavar="ZEITRAUM", help="Betrachtungszeitraum, z. B. 2019-H1")
    p.add_argument("--office", metavar="SCHLÜSSEL", help="nur diese Dienststelle")
    p.add_argument("--blank", action="store_true", help="leere Bögen zum Ausfüllen")
    p.add_argument("--no-contacts", action="store_true",
                   help="ohne Ansprechpersonen (zur Veröffentlichung)")
    p.add_argument("--out", type=Path, required=True, metavar="DATEI.pdf")
    return parser


def _offices(_args: argparse.Namespace) -> int:
    from integrationsplaner.domain.reference import load_reference

    for office in load_reference().offices:
        print(f"{office.key}\t{office.name}")
    return EXIT_OK


def _init(args: argparse.Namespace) -> int:
    from integrationsplaner.services.workspace import create_workspace

    with create_workspace(args.db, args.office) as ws:
        print(f"Datenbank {ws.path} für {ws.reference.office(ws.office_key).name} angelegt.")
    return EXIT_OK


def _demo(args: argparse.Namespace) -> int:
    from integrationsplaner.services import demo
    from integrationsplaner.services.workspace import create_workspace, open_workspace

    exists = args.db.exists()
    with open_workspace(args.db) if exists else create_workspace(args.db, args.office) as ws:
        def progress(done: int, total: int) -> bool:
            if sys.stderr.isatty():  # a person watching: show it; Strg+C cancels (rolled back)
                print(f"\r{done:,} von {total:,} Maßnahmen …".replace(",", "."), end="",
                      file=sys.stderr, flush=True)
            return True

        result = demo.generate(ws, args.measures, args.seed, progress=progress)
        if sys.stderr.isatty():
            print(file=sys.stderr)
        print(f"{result.measures} Maßnahmen, {result.partners} Partner und "
              f"{result.evaluations} Bewertungen in {ws.path} angelegt.")
    return EXIT_OK


def _check(args: argparse.Namespace) -> int:
    from integrationsplaner.services.integrity import check_database

    report = check_database(args.db)
    for line in report.lines():
        print(line)
    if not report.ok:
        for problem in report.problems:
            print(f"Fehler: {problem}", file=sys.stderr)
        return EXIT_REJECTED
    return EXIT_OK


def _gui(args: argparse.Namespace) -> int:
    from integrationsplaner.ui.app import run

    return run(args.db, args.open_bundle)


def _delegate(module: str, function: str) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        import importlib

        return int(getattr(importlib.import_module(module), function)(args))

    return run


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "offices": _offices,
    "init": _init,
    "demo": _demo,
    "check": _check,
    "export": _delegate("integrationsplaner.exchange.commands", "export_command"),
    "import": _delegate("integrationsplaner.exchange.commands", "import_command"),
    "rollback": _delegate("integrationsplaner.exchange.commands", "rollback_command"),
    "conflicts": _delegate("integrationsplaner.exchange.commands", "conflicts_command"),
    "keys": _delegate("integrationsplaner.exchange.commands", "keys_command"),
    "report": _delegate("integrationsplaner.reports.commands", "report_command"),
}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from integrationsplaner.errors import UserError

    if argv is None and args.command is not None and hasattr(signal, "SIGPIPE"):
        # output piped into a program that stops reading (``… --json | head``) ends the command
        # quietly, as with other command-line tools, instead of a BrokenPipeError traceback
        # (the import and export write their output after their work is committed; any
        # transaction still open is rolled back by SQLite)
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)

    try:
        if args.command is None:
            return _gui(args)
        return COMMANDS[args.command](args)
    except UserError as exc:
        print(f"Fehler: {exc.message}", file=sys.stderr)
        return EXIT_REJECTED
    except KeyboardInterrupt:
        print("Abgebrochen. Es wurde nichts geändert.", file=sys.stderr)
        return EXIT_REJECTED


if __name__ == "__main__":
    sys.exit(main())

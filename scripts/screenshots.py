"""Render each tab of the main window offscreen at 1366×768 into docs/screenshots/*.png.

Usage: python scripts/screenshots.py [--db DEMO.sqlite] [--out docs/screenshots]
Without --db a 300-measure demo district (Kreisverwaltung) is generated in a temporary folder.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from datetime import date
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

SHOTS = (
    (0, "uebersicht.png", None),
    (1, "massnahmen.png", 0),
    (1, "massnahme-kosten.png", 2),
    (2, "partner.png", None),
    (3, "bewertungen.png", None),
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", type=Path)
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    args = parser.parse_args()

    from PySide6.QtWidgets import QApplication

    app = QApplication(sys.argv[:1])
    from integrationsplaner.domain.model import MeasureFilter
    from integrationsplaner.services import demo
    from integrationsplaner.services.workspace import create_workspace, open_workspace
    from integrationsplaner.ui import tasks
    from integrationsplaner.ui.main_window import MainWindow
    from integrationsplaner.ui.settings import Settings

    work = Path(tempfile.mkdtemp(prefix="screens-"))
    try:
        db = work / "integrationsplaner-demo.sqlite"
        if args.db:
            shutil.copy(args.db, db)
            ws = open_workspace(db)
        else:
            ws = create_workspace(db, "kreis-kl", user="demo")
            demo.generate(ws, 300, seed=7, today=date.today())
        window = MainWindow(ws, Settings(work / "settings.ini"))
        window.resize(1366, 768)
        window.show()
        args.out.mkdir(parents=True, exist_ok=True)

        def settle() -> None:
            for _ in range(5):
                tasks.wait_all()
                app.processEvents()

        for index, name, section in SHOTS:
            window.tab_widget.setCurrentIndex(index)
            tab = window.current_tab()
            settle()
            if index == 1:
                tab.filter_bar.set_value(MeasureFilter(offices=("kreis-kl",)))
                tab.view.selectRow(1)
                tab.editor.sections.setCurrentIndex(section or 0)
            elif hasattr(tab, "view"):
                tab.view.selectRow(2)
            settle()
            window.grab().save(str(args.out / name))
            print(args.out / name)
        window.close()
        ws.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

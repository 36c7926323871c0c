"""Shared helpers of the Austausch dialogs: accessible names, slow work in a worker thread.

Slow work (reading, checking and applying a bundle, writing one) runs in a worker thread with a
progress dialog; cancelling before "Übernehmen" changes nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QEventLoop, Qt, QThread, Signal
from PySide6.QtWidgets import QProgressDialog, QWidget

from integrationsplaner.exchange.export import ExportCancelled
from integrationsplaner.exchange.reader import ImportCancelled

_CANCELLED = object()


def _named(widget: QWidget, name: str, description: str = "") -> QWidget:
    widget.setAccessibleName(name)
    if description:
        widget.setAccessibleDescription(description)
    return widget


# --- running slow work off the UI thread ----------------------------------------------------


class _Worker(QThread):
    progressed = Signal(int, int)

    def __init__(self, fn: Callable[[Callable[[int, int], bool]], Any]) -> None:
        super().__init__()
        self.fn = fn
        self.cancel = threading.Event()
        self.result: Any = None
        self.error: BaseException | None = None

    def _progress(self, done: int, total: int) -> bool:
        self.progressed.emit(done, total)
        return not self.cancel.is_set()

    def run(self) -> None:
        try:
            self.result = self.fn(self._progress)
        except (ImportCancelled, ExportCancelled):
            self.result = _CANCELLED
        except BaseException as exc:  # handed to the UI thread
            self.error = exc


def run_with_progress(parent: QWidget | None, title: str, label: str,
                      fn: Callable[[Callable[[int, int], bool]], Any],
                      cancellable: bool = True) -> Any:
    """Run ``fn(progress)`` in a worker thread behind a modal progress dialog. Returns its
    result, ``None`` if the user cancelled; re-raises its exception on the UI thread."""
    worker = _Worker(fn)
    dialog = QProgressDialog(label, "Abbrechen" if cancellable else "", 0, 0, parent)
    dialog.setWindowTitle(title)
    dialog.setAccessibleName(title)
    dialog.setWindowModality(Qt.WindowModality.WindowModal)
    dialog.setMinimumDuration(300)
    if not cancellable:
        dialog.setCancelButton(None)

    def on_progress(done: int, total: int) -> None:
        scale = max(total, 1)
        dialog.setMaximum(1000)
        dialog.setValue(min(999, int(done * 1000 / scale)))

    worker.progressed.connect(on_progress)
    dialog.canceled.connect(worker.cancel.set)
    loop = QEventLoop()
    worker.finished.connect(loop.quit)
    worker.start()
    if worker.isRunning():
        loop.exec()
    worker.wait()
    dialog.reset()
    dialog.deleteLater()
    if worker.error is not None:
        raise worker.error
    if worker.result is _CANCELLED:
        return None
    return worker.result

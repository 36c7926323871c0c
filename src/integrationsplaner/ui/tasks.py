"""Run slow work off the UI thread and hand the result back to a slot on the UI thread.

``run_task(owner, fn, on_done)`` starts ``fn()`` in the global thread pool. ``on_done(result)``
(or ``on_error(exc)``) runs on the UI thread, unless ``owner`` was destroyed or the task was
superseded by a newer one with the same ``key`` (so a slow old query never overwrites a new one).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

log = logging.getLogger(__name__)
_generation: dict[tuple[int, str], int] = {}
_running: set[_Task] = set()


class _Bridge(QObject):
    """Lives on the UI thread; its slots run there (queued) when the worker emits."""

    done = Signal(object)
    failed = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        self.on_done: Callable[[Any], None] = lambda _r: None
        self.on_failed: Callable[[BaseException], None] = lambda _e: None
        self.done.connect(self._done)
        self.failed.connect(self._failed)

    @Slot(object)
    def _done(self, result: Any) -> None:
        self.on_done(result)

    @Slot(object)
    def _failed(self, exc: BaseException) -> None:
        self.on_failed(exc)


class _Task(QRunnable):
    def __init__(self, fn: Callable[[], Any]) -> None:
        super().__init__()
        self.setAutoDelete(False)
        self.fn = fn
        self.bridge = _Bridge()

    def run(self) -> None:
        failure: BaseException | None = None
        result: Any = None
        try:
            result = self.fn()
        except BaseException as exc:  # handed to the UI thread, shown there
            failure = exc
        # the window may have closed while this ran (program exit): nobody waits for the result
        with contextlib.suppress(RuntimeError):
            if failure is not None:
                self.bridge.failed.emit(failure)
            else:
                self.bridge.done.emit(result)


def run_task(owner: QObject, fn: Callable[[], Any], on_done: Callable[[Any], None],
             on_error: Callable[[BaseException], None] | None = None, key: str = "") -> None:
    slot = (id(owner), key)
    generation = _generation.get(slot, 0) + 1
    _generation[slot] = generation
    task = _Task(fn)
    alive = [True]

    def _gone() -> None:
        alive[0] = False

    owner.destroyed.connect(_gone)

    def _current() -> bool:
        return alive[0] and _generation.get(slot) == generation

    def _finish() -> None:
        _running.discard(task)
        with contextlib.suppress(RuntimeError, TypeError):
            owner.destroyed.disconnect(_gone)

    def _done(result: Any) -> None:
        current = _current()
        _finish()
        if current:
            on_done(result)

    def _failed(exc: BaseException) -> None:
        current = _current()
        _finish()
        if not current:
            return
        if on_error is not None:
            on_error(exc)
        else:
            raise exc

    task.bridge.on_done = _done
    task.bridge.on_failed = _failed
    _running.add(task)
    QThreadPool.globalInstance().start(task)


def wait_all(timeout_ms: int = 10_000) -> bool:
    """Wait for running tasks (for closing a database and for tests)."""
    return QThreadPool.globalInstance().waitForDone(timeout_ms)

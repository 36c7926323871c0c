"""One program window per user: a second start hands its bundle file to the running window.

The running window listens on a local socket (named per user). A start without ``--db`` or with
``--open BUNDLE`` first tries to reach it; if it answers, the new process sends one JSON line
(``{"open": path-or-null}``) and ends, and the running window comes to the front and, given a
bundle, opens its import preview (the same path as a drag and drop).
"""

from __future__ import annotations

import getpass
import hashlib
import json
import logging
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

log = logging.getLogger(__name__)
TIMEOUT_MS = 1000


def server_name() -> str:
    try:
        user = getpass.getuser()
    except Exception:  # no login name: one shared name is still correct, only coarser
        user = "unbekannt"
    return "integrationsplaner-" + hashlib.sha256(user.encode()).hexdigest()[:16]


def hand_over(bundle: Path | None, name: str | None = None) -> bool:
    """Send the request to a running window; False if none answers."""
    socket = QLocalSocket()
    socket.connectToServer(name or server_name())
    if not socket.waitForConnected(TIMEOUT_MS):
        return False
    message = json.dumps({"open": str(bundle.resolve()) if bundle else None}) + "\n"
    socket.write(message.encode("utf-8"))
    sent = socket.waitForBytesWritten(TIMEOUT_MS)
    socket.disconnectFromServer()
    return sent


class InstanceServer(QObject):
    """Listens for later starts; emits ``activate`` and, with a bundle, ``open_bundle``."""

    activate = Signal()
    open_bundle = Signal(Path)

    def __init__(self, parent: QObject | None = None, name: str | None = None) -> None:
        super().__init__(parent)
        self._server = QLocalServer(self)
        self._server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        self._name = name or server_name()
        if not self._server.listen(self._name):
            # a socket file left behind by a crashed instance (Unix): remove it and retry
            QLocalServer.removeServer(self._name)
            if not self._server.listen(self._name):
                log.warning("Einzelinstanz-Server nicht verfügbar: %s",
                            self._server.errorString())
        self._sockets: list[QLocalSocket] = []
        self._server.newConnection.connect(self._accept)

    @property
    def listening(self) -> bool:
        return self._server.isListening()

    def _accept(self) -> None:
        while (socket := self._server.nextPendingConnection()) is not None:
            self._sockets.append(socket)
            socket.readyRead.connect(self._read_all)

    def _read_all(self) -> None:
        for socket in list(self._sockets):
            if socket.canReadLine():
                self._sockets.remove(socket)
                line = bytes(socket.readLine().data()).decode("utf-8", "replace")
                socket.readyRead.disconnect(self._read_all)
                socket.abort()
                socket.deleteLater()
                self._handle(line)

    def _handle(self, line: str) -> None:
        try:
            request = json.loads(line)
            bundle = request.get("open") if isinstance(request, dict) else None
        except json.JSONDecodeError:
            log.warning("Unlesbare Anfrage einer zweiten Programminstanz verworfen")
            return
        self.activate.emit()
        if isinstance(bundle, str) and bundle:
            self.open_bundle.emit(Path(bundle))

    def close(self) -> None:
        for socket in self._sockets:
            socket.abort()
        self._sockets.clear()
        self._server.close()

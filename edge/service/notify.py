"""systemd's notify protocol (``sd_notify``) over the notify socket, without libsystemd.

With ``Type=notify`` systemd waits for ``READY=1`` before it calls the service started, shows
``STATUS=`` lines in ``systemctl status``, and with ``WatchdogSec=`` restarts the service when
``WATCHDOG=1`` pings stop arriving.  Outside systemd (no ``$NOTIFY_SOCKET``) every call is a
no-op, so the daemon never needs to know how it was started.
"""

from __future__ import annotations

import logging
import os
import socket

log = logging.getLogger(__name__)


class SystemdNotifier:
    """Sends notifications to ``$NOTIFY_SOCKET`` (a datagram Unix socket)."""

    def __init__(self, socket_path: str | None = None, *, watchdog_usec: str | None = None):
        env = os.environ
        self.socket_path = socket_path if socket_path is not None else env.get("NOTIFY_SOCKET")
        usec = watchdog_usec if watchdog_usec is not None else env.get("WATCHDOG_USEC")
        pid = env.get("WATCHDOG_PID")
        # WATCHDOG_PID, when set, says which process the watchdog is meant for.
        meant_for_us = pid is None or pid == str(os.getpid())
        self.watchdog_interval = int(usec) / 1e6 if usec and meant_for_us else None
        self._socket: socket.socket | None = None
        if self.socket_path:
            self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            # A reader that stops reading (its queue holds 10 datagrams) must never stall the
            # analysis or the shutdown: a notification that does not fit is dropped.
            self._socket.setblocking(False)
        self._failing = False

    @property
    def enabled(self) -> bool:
        return self._socket is not None

    def _address(self) -> str | bytes:
        assert self.socket_path
        if self.socket_path.startswith("@"):  # abstract namespace socket
            return b"\0" + self.socket_path[1:].encode()
        return self.socket_path

    def notify(self, **fields: object) -> bool:
        """Send ``KEY=value`` lines, e.g. ``notify(READY=1, STATUS="running")``."""
        if self._socket is None:
            return False
        message = "\n".join(f"{key}={value}" for key, value in fields.items())
        try:
            self._socket.sendto(message.encode(), self._address())
        except OSError as exc:  # systemd gone, busy or socket not ours: never fatal
            if not self._failing:  # once per run of failures, not every second
                log.warning("cannot notify systemd at %s: %s", self.socket_path, exc)
            self._failing = True
            return False
        self._failing = False
        return True

    def ready(self, status: str = "") -> bool:
        return self.notify(READY=1, **({"STATUS": status} if status else {}))

    def status(self, text: str) -> bool:
        return self.notify(STATUS=text)

    def watchdog(self) -> bool:
        return self.notify(WATCHDOG=1)

    def stopping(self, status: str = "") -> bool:
        return self.notify(STOPPING=1, **({"STATUS": status} if status else {}))

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None

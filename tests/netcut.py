"""A TCP relay between one client and the broker that a test can cut and
restore, or slow down: the network between a wall display and the hall
server going away or crawling, without restarting the broker (whose retained
state must stay)."""

from __future__ import annotations

import selectors
import socket
import threading
import time


class NetCut:
    """``port``: where the client connects.  ``cut()`` drops every relayed
    connection and refuses new ones until ``restore()``."""

    def __init__(self, target_port: int, host: str = "127.0.0.1", delay_s: float = 0.0):
        self.target = (host, target_port)
        self.delay_s = delay_s  # each chunk waits this long before it is passed on
        self._listen = socket.create_server((host, 0))
        self.port = self._listen.getsockname()[1]
        self._open = threading.Event()
        self._open.set()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self.connections = 0  # accepted and relayed, over the relay's life
        self._thread = threading.Thread(target=self._run, name="netcut", daemon=True)

    def start(self) -> "NetCut":
        self._thread.start()
        return self

    def cut(self) -> None:
        self._open.clear()
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for a, b in pairs:
            for s in (a, b):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def restore(self) -> None:
        self._open.set()

    def stop(self) -> None:
        self._stop.set()
        self.cut()
        self._listen.close()
        self._thread.join(5)

    def _run(self) -> None:
        self._listen.settimeout(0.05)
        while not self._stop.is_set():
            try:
                client, _ = self._listen.accept()
            except (TimeoutError, socket.timeout):
                continue
            except OSError:
                return
            if not self._open.is_set():
                client.close()  # the link is down: the client sees its connect fail
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=2)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._pairs.append((client, upstream))
                self.connections += 1
            threading.Thread(target=self._pipe, args=(client, upstream), daemon=True).start()

    def _pipe(self, a: socket.socket, b: socket.socket) -> None:
        sel = selectors.DefaultSelector()
        sel.register(a, selectors.EVENT_READ, b)
        sel.register(b, selectors.EVENT_READ, a)
        try:
            while not self._stop.is_set():
                for key, _ in sel.select(0.1):
                    data = key.fileobj.recv(65536)
                    if not data:
                        return
                    if self.delay_s:
                        time.sleep(self.delay_s)
                    key.data.sendall(data)
        except OSError:
            return
        finally:
            sel.close()
            for s in (a, b):
                s.close()

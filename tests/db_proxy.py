"""A TCP proxy in front of PostgreSQL that a test can break and mend.

The tests point DATABASE_URL at it, then make the database unreachable (connections are
accepted and never answered, as behind a dead host), slow (each packet waits), or
reachable again, without touching the real server.
"""

import socket
import threading
import time


class DatabaseProxy:
    def __init__(self, upstream=("127.0.0.1", 5432)):
        self.upstream = upstream
        self.mode = "forward"
        self.delay = 0.0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._open = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def unreachable(self):
        """New connections hang unanswered; open ones are cut."""
        self.mode = "blackhole"
        self._close_open()

    def slow(self, delay):
        self.delay, self.mode = delay, "forward"

    def reachable(self):
        self.delay, self.mode = 0.0, "forward"
        self._close_open()  # including the ones left hanging

    def close(self):
        self._listener.close()
        self._close_open()

    def _close_open(self):
        with self._lock:
            sockets, self._open = self._open, []
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def _accept(self):
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self._open.append(client)
            if self.mode == "blackhole":
                continue
            try:
                server = socket.create_connection(self.upstream, timeout=5)
                server.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._open.append(server)
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source, sink):
        try:
            while data := source.recv(65536):
                if self.delay:
                    time.sleep(self.delay)
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

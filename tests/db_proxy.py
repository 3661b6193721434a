"""A proxy in front of PostgreSQL that a test can break and mend.

The tests point DATABASE_URL at it, then make the database unreachable (connections are
accepted and never answered, as behind a dead host), restarting (open connections are
cut and new ones closed at once, as by a server that is starting up), slow (each packet
waits), or reachable again, without touching the real server.

It listens on TCP (127.0.0.1, a free port) or, given a folder, on a Unix socket named as
PostgreSQL names its own (`FOLDER/.s.PGSQL.5432`), which a server inside a network
namespace of its own can still reach: `DatabaseProxy(socket_dir=d).url(name)`.
"""

import os
import socket
import threading
import time
import urllib.parse

POSTGRES_SOCKET = "/var/run/postgresql/.s.PGSQL.5432"


class DatabaseProxy:
    def __init__(self, upstream=None, socket_dir=None):
        self.mode = "forward"
        self.delay = 0.0
        self.socket_dir = socket_dir
        if socket_dir is None:
            self.upstream = upstream or ("127.0.0.1", 5432)
            self._listener = socket.create_server(("127.0.0.1", 0))
            self.port = self._listener.getsockname()[1]
        else:
            self.upstream = upstream or POSTGRES_SOCKET
            self.port = 5432
            path = os.path.join(socket_dir, f".s.PGSQL.{self.port}")
            self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self._listener.bind(path)
            os.chmod(path, 0o777)  # whoever the server runs as may connect
            self._listener.listen()
        self._open = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, database, user="postgres"):
        """A DATABASE_URL that reaches `database` through this proxy."""
        if self.socket_dir is None:
            return f"postgres://{user}@127.0.0.1:{self.port}/{database}"
        return f"postgres://{user}@{urllib.parse.quote(self.socket_dir, safe='')}/{database}"

    def unreachable(self):
        """New connections hang unanswered; open ones are cut."""
        self.mode = "blackhole"
        self._close_open()

    def restarting(self):
        """Open connections are cut; new ones are closed as soon as they are accepted."""
        self.mode = "refuse"
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
            if self.mode == "refuse":
                client.close()
                continue
            with self._lock:
                self._open.append(client)
            if self.mode == "blackhole":
                continue
            try:
                server = self._connect_upstream()
            except OSError:
                client.close()
                continue
            with self._lock:
                self._open.append(server)
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _connect_upstream(self):
        if isinstance(self.upstream, str):
            server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            server.settimeout(5)
            server.connect(self.upstream)
        else:
            server = socket.create_connection(self.upstream, timeout=5)
        server.settimeout(None)
        return server

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

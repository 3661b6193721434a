"""A proxy in front of PostgreSQL (or MariaDB) that a test can break and mend.

The tests point DATABASE_URL at it, then make the database unreachable (connections are
accepted and never answered, as behind a dead host), restarting (open connections are
cut and new ones closed at once, as by a server that is starting up), slow (each packet
waits), or reachable again, without touching the real server.

It listens on TCP (127.0.0.1, a free port) or, given a folder, on a Unix socket named as
the server names its own (PostgreSQL: `FOLDER/.s.PGSQL.5432`), which a server inside a
network namespace of its own can still reach: `DatabaseProxy(socket_dir=d).url(name)`.
`DatabaseProxy(server="mariadb")` stands in front of the machine's MariaDB instead.
"""

import os
import socket
import threading
import time
import urllib.parse
from typing import NamedTuple

POSTGRES_SOCKET = "/var/run/postgresql/.s.PGSQL.5432"
MARIADB_SOCKET = "/run/mysqld/mysqld.sock"


class Server(NamedTuple):
    scheme: str
    user: str
    tcp: tuple  # where the server listens on TCP
    socket: str  # and its Unix socket
    socket_name: str  # what the proxy calls its own socket
    url_names_file: bool  # whether a URL's host is the socket file (else its folder)


SERVERS = {
    "postgres": Server("postgres", "postgres", ("127.0.0.1", 5432), POSTGRES_SOCKET,
                       ".s.PGSQL.5432", False),
    "mariadb": Server("mysql", "root", ("127.0.0.1", 3306), MARIADB_SOCKET, "mysqld.sock",
                      True),
}


class DatabaseProxy:
    def __init__(self, upstream=None, socket_dir=None, server="postgres"):
        self.mode = "forward"
        self.delay = 0.0
        self.accepted = 0  # connections clients opened, answered or not
        self.socket_dir = socket_dir
        self.server = SERVERS[server]
        if socket_dir is None:
            self.upstream = upstream or self.server.tcp
            self._listener = socket.create_server(("127.0.0.1", 0))
            self.port = self._listener.getsockname()[1]
        else:
            self.upstream = upstream or self.server.socket
            self.port = self.server.tcp[1]
            path = os.path.join(socket_dir, self.server.socket_name)
            self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self._listener.bind(path)
            # Whoever the server runs as may connect: the image's own user, say, with the
            # folder mounted into its container.
            os.chmod(socket_dir, 0o755)
            os.chmod(path, 0o777)
            self._listener.listen()
        self._open = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, database, user=None):
        """A DATABASE_URL that reaches `database` through this proxy."""
        scheme, user = self.server.scheme, user or self.server.user
        if self.socket_dir is None:
            return f"{scheme}://{user}@127.0.0.1:{self.port}/{database}"
        host = self.socket_dir
        if self.server.url_names_file:
            host = os.path.join(host, self.server.socket_name)
        return f"{scheme}://{user}@{urllib.parse.quote(host, safe='')}/{database}"

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
                self.accepted += 1
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

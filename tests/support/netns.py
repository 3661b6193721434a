"""Network namespaces of the tests' own, for servers that listen on fixed ports.

bin/web's nginx always listens on 4000 and 4001, and the router port is 3000 unless PORT
says otherwise. Each test server gets a namespace of its own (`ip netns add`, loopback
only), so it never collides with another test, a developer's own servers or a second run
of the suite. Nothing in it reaches the machine's network: the database is reached through
PostgreSQL's Unix socket, which a namespace does not hide.

The test process stays in the machine's namespace; `connect` opens a socket from inside
the namespace on a short-lived thread (setns changes only the calling thread), and the
socket keeps its namespace for its whole life.
"""

import ctypes
import http.client
import os
import secrets
import shutil
import socket
import subprocess
import threading

CLONE_NEWNET = 0x40000000


def missing():
    """Why namespaces cannot be made here, or None when they can."""
    if os.geteuid() != 0:
        return "root (ip netns add needs it)"
    if not shutil.which("ip"):
        return "the ip command (Debian package iproute2)"
    return None


class Namespace:
    def __init__(self, prefix="tpl"):
        self.name = f"{prefix}-{os.getpid()}-{secrets.token_hex(3)}"
        self.path = f"/run/netns/{self.name}"
        subprocess.run(["ip", "netns", "add", self.name], check=True)
        subprocess.run(["ip", "-n", self.name, "link", "set", "lo", "up"], check=True)

    def command(self, argv):
        """argv run inside the namespace."""
        return ["ip", "netns", "exec", self.name, *map(str, argv)]

    def popen(self, argv, **kwargs):
        return subprocess.Popen(self.command(argv), **kwargs)

    def run(self, argv, **kwargs):
        return subprocess.run(self.command(argv), **kwargs)

    def add_address(self, address):
        """Give the namespace's loopback one more address (say, a private one)."""
        subprocess.run(["ip", "-n", self.name, "addr", "add", f"{address}/32", "dev", "lo"],
                       check=True)
        return address

    def connect(self, port, host="127.0.0.1", timeout=30):
        """A TCP socket connected to host:port as seen from inside the namespace.

        Connected to an address of add_address(), the server sees that address as the
        peer's: a request that seems to come from a rack's balancer or router.
        """
        opened, error = self.connections(port, 1, host=host, timeout=timeout)
        if error:
            raise error
        return opened[0]

    def connections(self, port, count, host="127.0.0.1", timeout=30, send=b""):
        """(sockets, error): up to `count` connections to host:port from inside the
        namespace, each sent `send`, opened one after another on one thread until the
        first error (None when all opened)."""
        opened, outcome = [], {"error": None}

        def inside():
            libc = ctypes.CDLL(None, use_errno=True)
            fd = os.open(self.path, os.O_RDONLY)
            try:
                if libc.setns(fd, CLONE_NEWNET) != 0:
                    outcome["error"] = OSError(ctypes.get_errno(), f"setns {self.path}")
                    return
                for _ in range(count):
                    opened.append(socket.create_connection((host, port), timeout))
                    if send:
                        opened[-1].sendall(send)
            except OSError as error:
                outcome["error"] = error
            finally:
                os.close(fd)

        thread = threading.Thread(target=inside)
        thread.start()
        thread.join()
        return opened, outcome["error"]

    def http(self, port, timeout=30):
        """An http.client connection to 127.0.0.1:port inside the namespace."""
        return HTTPConnection(self, port, timeout=timeout)

    def delete(self):
        subprocess.run(["ip", "netns", "delete", self.name], check=False,
                       capture_output=True)


class HTTPConnection(http.client.HTTPConnection):
    def __init__(self, namespace, port, timeout=30):
        super().__init__("127.0.0.1", port, timeout=timeout)
        self.namespace = namespace

    def connect(self):
        self.sock = self.namespace.connect(self.port, self.host, self.timeout)


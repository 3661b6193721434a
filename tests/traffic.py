"""Requests shaped like the ones Convox sends a web container, for the tests that serve.

- port 4000: the first generation's balancer port 80, plain HTTP;
- port 4001: its port 443, TLS ended at the balancer, which prepends a PROXY protocol
  header naming the client (`proxy_client=`);
- the router port (3000 or $PORT): today's racks, TLS ended at the rack's router.

`namespace=` sends the request inside a network namespace of the test's own (netns.py);
without it, to the machine's loopback.
"""

import http.client
import re
import urllib.parse
from dataclasses import dataclass

DOMAIN = "example.com"
CLIENT = "203.0.113.9"  # the address the balancer's PROXY header names
# A private address the tests connect from, as a rack's balancer or router does: nginx
# believes the client address it passes on only from private addresses.
BALANCER = "10.0.7.20"
# What the rack's router adds to each request it sends to the router port: it ended TLS.
ROUTER_HEADERS = {"X-Forwarded-Proto": "https"}
SUPERUSER = ("admin", "correct-horse-battery-staple")


@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    body: str


class _Connection(http.client.HTTPConnection):
    """HTTP to host:port, maybe inside a namespace, maybe behind a PROXY line."""

    def __init__(self, port, namespace=None, proxy_client=None, timeout=30, host="127.0.0.1"):
        super().__init__(host, port, timeout=timeout)
        self.namespace = namespace
        self.proxy_client = proxy_client

    def connect(self):
        if self.namespace is None:
            super().connect()
        else:
            self.sock = self.namespace.connect(self.port, self.host, self.timeout)
        if self.proxy_client:
            self.sock.sendall(f"PROXY TCP4 {self.proxy_client} 10.0.0.2 51234 443\r\n".encode())


def fetch(port, path, method="GET", headers=(), body=None, proxy_client=None,
          namespace=None, timeout=30, host="127.0.0.1"):
    """One request on a new connection; Host is the baked domain unless headers say.

    `host` is the address connected to (in a namespace: 127.0.0.1 or one of its
    add_address() addresses, which the server then sees as the peer's).
    """
    connection = _Connection(port, namespace, proxy_client, timeout, host)
    try:
        connection.request(method, path, body=body, headers={"Host": DOMAIN, **dict(headers)})
        response = connection.getresponse()
        return Response(response.status, response.headers,
                        response.read().decode("utf-8", "replace"))
    finally:
        connection.close()


def sign_in(port, proxy_client=CLIENT, namespace=None, origin=f"https://{DOMAIN}",
            credentials=SUPERUSER, headers=()):
    """Log in to the admin as a browser does: form, CSRF cookie and token, then POST.

    `headers` go with both requests (say, the Host a browser on localhost:8000 sends).
    """
    form = fetch(port, "/admin/login/", proxy_client=proxy_client, namespace=namespace,
                 headers=headers)
    csrf_cookie = re.search(r"csrftoken=([^;]+)", form.headers["Set-Cookie"]).group(1)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.body).group(1)
    body = urllib.parse.urlencode({"username": credentials[0], "password": credentials[1],
                                   "csrfmiddlewaretoken": token, "next": "/admin/"})
    return fetch(port, "/admin/login/?next=/admin/", method="POST", body=body,
                 proxy_client=proxy_client, namespace=namespace, headers={
                     **dict(headers),
                     "Content-Type": "application/x-www-form-urlencoded",
                     "Cookie": f"csrftoken={csrf_cookie}",
                     "Origin": origin,
                     "Referer": f"{origin}/admin/login/",
                 })

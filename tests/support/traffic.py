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
import socket
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


def free_port():
    """A TCP port of the machine's loopback that nothing listens on, for a test's server."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


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


def csrf_token(port, path, proxy_client=None, namespace=None, headers=(), host="127.0.0.1"):
    """(cookie, token): the CSRF cookie and the form's token, from the form page at path."""
    form = fetch(port, path, proxy_client=proxy_client, namespace=namespace, headers=headers,
                 host=host)
    cookie = re.search(r"csrftoken=([^;]+)", form.headers["Set-Cookie"]).group(1)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.body).group(1)
    return cookie, token


def form_headers(cookie, origin, form_path):
    """What a browser sends with a form it posts: its type, the CSRF cookie, where from."""
    return {"Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"csrftoken={cookie}",
            "Origin": origin,
            "Referer": f"{origin}{form_path}"}


def post_form(port, form_path, action, fields, proxy_client=CLIENT, namespace=None,
              origin=f"https://{DOMAIN}", headers=(), host="127.0.0.1"):
    """Post a form as a browser does: the form page for its CSRF cookie and token, then
    the POST to action. `headers` go with both requests (say, the Host a browser on
    localhost:8000 sends); `host` is the address connected to, as for fetch."""
    cookie, token = csrf_token(port, form_path, proxy_client, namespace, headers, host)
    body = urllib.parse.urlencode({**fields, "csrfmiddlewaretoken": token})
    return fetch(port, action, method="POST", body=body, proxy_client=proxy_client,
                 namespace=namespace, host=host,
                 headers={**dict(headers), **form_headers(cookie, origin, form_path)})


def sign_in(port, proxy_client=CLIENT, namespace=None, origin=f"https://{DOMAIN}",
            credentials=SUPERUSER, headers=(), host="127.0.0.1"):
    """Log in to the admin as a browser does: form, CSRF cookie and token, then POST."""
    fields = {"username": credentials[0], "password": credentials[1], "next": "/admin/"}
    return post_form(port, "/admin/login/", "/admin/login/?next=/admin/", fields,
                     proxy_client, namespace, origin, headers, host)

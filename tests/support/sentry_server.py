"""A stand-in for Sentry's ingestion endpoint: an HTTP server that takes the envelopes
sentry-sdk POSTs (to /api/PROJECT/envelope/, gzip-compressed or not), reads them with
sentry-sdk's own envelope parser, and keeps them.

As Sentry's ingestion does, it refuses a request that does not carry the DSN's public key
(in the X-Sentry-Auth header or the sentry_key query parameter): 401 when there is none,
403 when it is another key. Refused requests are kept apart, in `refused`.

    with SentryServer() as server:
        ... SENTRY_DSN=server.dsn ...
    server.envelopes  # [(path, headers, sentry_sdk Envelope)]
    server.events()   # the "event" items' payloads, as dicts
"""

import gzip
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from sentry_sdk.envelope import Envelope

PUBLIC_KEY = "public"


def sentry_key(path, headers):
    """The public key a request carries: `Sentry sentry_key=..., ...` in X-Sentry-Auth, or
    ?sentry_key=... in the URL; None without one."""
    auth = headers.get("X-Sentry-Auth", "")
    if auth.startswith("Sentry "):
        fields = dict(part.strip().split("=", 1) for part in auth[7:].split(",") if "=" in part)
        if "sentry_key" in fields:
            return fields["sentry_key"]
    return parse_qs(urlsplit(path).query).get("sentry_key", [None])[0]


class _Ingest(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        key = sentry_key(self.path, self.headers)
        if key != PUBLIC_KEY:
            self.server.refused.append((self.path, dict(self.headers)))
            status = 401 if key is None else 403
            return self.answer(status, {"detail": "missing or unknown project key"})
        # gzip unless brotli is installed, which no requirement set pins.
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        self.server.envelopes.append((self.path, dict(self.headers), Envelope.deserialize(body)))
        return self.answer(200, {})

    def answer(self, status, document):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(json.dumps(document).encode())

    def log_message(self, *args):
        """Quiet: pytest shows what the test asserts."""


class SentryServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Ingest)
        self.envelopes, self.refused = [], []
        # Project 1, its public key: what a DSN copied from Sentry looks like.
        self.dsn = f"http://{PUBLIC_KEY}@127.0.0.1:{self.server_address[1]}/1"

    def events(self):
        return [item.payload.json for _, _, envelope in self.envelopes
                for item in envelope.items if item.type == "event"]

    def __enter__(self):
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.shutdown()
        self.server_close()

"""A stand-in for Sentry's ingestion endpoint: an HTTP server that takes the envelopes
sentry-sdk POSTs (to /api/PROJECT/envelope/, gzip-compressed or not) and keeps them.

    with SentryServer() as server:
        ... SENTRY_DSN=server.dsn ...
    server.envelopes  # [(path, headers, [(item header, payload bytes), ...])]
    server.events()   # the payloads of the "event" items, as dicts
"""

import gzip
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def envelope_items(body):
    """[(item header, payload)] of an envelope: a header line, then for each item a JSON
    header line and its payload, `length` bytes long or running to the next newline."""
    _, rest = body.split(b"\n", 1)
    items = []
    while rest.strip():
        line, rest = rest.split(b"\n", 1)
        header = json.loads(line)
        if "length" in header:
            payload, rest = rest[:header["length"]], rest[header["length"] + 1:]
        else:
            payload, _, rest = rest.partition(b"\n")
        items.append((header, payload))
    return items


class _Ingest(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        # gzip unless brotli is installed, which no requirement set pins.
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        self.server.envelopes.append((self.path, dict(self.headers), envelope_items(body)))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        """Quiet: pytest shows what the test asserts."""


class SentryServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Ingest)
        self.envelopes = []
        # Project 1, public key "public": what a DSN copied from Sentry looks like.
        self.dsn = f"http://public@127.0.0.1:{self.server_address[1]}/1"

    def events(self):
        return [json.loads(payload) for _, _, items in self.envelopes
                for header, payload in items if header["type"] == "event"]

    def __enter__(self):
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.shutdown()
        self.server_close()

"""Load on a server inside a network namespace, two ways.

- `wrk`: Debian's wrk run inside the namespace, for rates and latency percentiles; the
  test process stays idle, so it takes no CPU from the server.
- `Load`: Python clients in threads, each sending one request after another on a new
  connection and keeping a timeline (when it started, connected, ended, and how), for
  the tests that break something mid-load and need to know which requests it cost.
"""

import json
import threading
import time
from dataclasses import dataclass

from traffic import DOMAIN

# wrk's summary as one JSON line (https://github.com/wg/wrk/blob/master/SCRIPTING).
WRK_REPORT = """\
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "seconds": %f, "p50_us": %d, "p99_us": %d, "errors": %d}\\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50),
    latency:percentile(99), e.connect + e.read + e.write + e.status + e.timeout))
end
"""

def think_time(low_ms, high_ms):
    """A wrk script part (added to WRK_REPORT): each connection waits low_ms to high_ms, at
    random, after an answer before it sends its next request, as a person's browser does."""
    return f"""\
delay = function()
  return math.random({low_ms}, {high_ms})
end
"""

# Instead of WRK_REPORT: how many answers of each status, over all of wrk's threads, as
# one JSON line ({"200": 9, "429": 40211}). Lua reads each answer, so wrk runs slower.
WRK_STATUSES = """\
local threads = {}
function setup(thread)
  table.insert(threads, thread)
end
function init(args)
  statuses = {}
end
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end
function done(summary, latency, requests)
  local counts, parts = {}, {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      counts[status] = (counts[status] or 0) + count
    end
  end
  for status, count in pairs(counts) do
    table.insert(parts, string.format('"%d": %d', status, count))
  end
  io.write(string.format('{"requests": %d, "seconds": %f, "statuses": {%s}}\\n',
    summary.requests, summary.duration / 1e6, table.concat(parts, ", ")))
end
"""


def wrk_post(body):
    """Lua that makes each of wrk's requests a POST of `body` (ASCII, such as a form)."""
    return f"wrk.method = \"POST\"\nwrk.body = {json.dumps(body)}\n"


def wrk(namespace, port, path, headers, connections, seconds, script, threads=2,
        host="127.0.0.1"):
    """One wrk run; `script` is a file holding WRK_REPORT. Errors count failed
    connections, reads, writes and timeouts, and answers of 400 and above. `host` is the
    address connected to, as for traffic.fetch."""
    command = ["wrk", f"-t{min(connections, threads)}", f"-c{connections}", f"-d{seconds}s",
               "-s", script, "-H", f"Host: {DOMAIN}"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    done = namespace.run([*command, f"http://{host}:{port}{path}"],
                         capture_output=True, text=True, check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["rate"] = result["requests"] / result["seconds"]
    return result


@dataclass
class Outcome:
    path: str
    started: float  # time.monotonic()
    connected: float | None  # None: no connection was made
    ended: float
    status: int | None  # None: no complete answer
    error: str = ""

    @property
    def ok(self):
        return self.status is not None and self.status < 400


class Load:
    """`clients` threads for each (path, headers) in `pages`, until the block ends.

        with Load(namespace, 3000, [("/", {})], clients=8) as load:
            ...
        load.outcomes  # every request, in the order they ended
    """

    def __init__(self, namespace, port, pages, clients, timeout=10):
        self.namespace, self.port, self.timeout = namespace, port, timeout
        self.outcomes = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._client, args=page, daemon=True)
                         for page in pages for _ in range(clients)]

    def __enter__(self):
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        for thread in self._threads:
            thread.join(self.timeout + 5)

    def _client(self, path, headers):
        while not self._stop.is_set():
            outcome = self.request(path, headers)
            self.outcomes.append(outcome)
            if not outcome.ok:
                self._stop.wait(0.05)  # no busy loop against a closed port

    def request(self, path, headers):
        started, connected = time.monotonic(), None
        connection = self.namespace.http(self.port, timeout=self.timeout)
        try:
            connection.connect()
            connected = time.monotonic()
            connection.request("GET", path, headers={"Host": DOMAIN, **headers})
            response = connection.getresponse()
            response.read()
            return Outcome(path, started, connected, time.monotonic(), response.status)
        except Exception as error:  # noqa: BLE001 - every failure is an outcome here
            return Outcome(path, started, connected, time.monotonic(), None,
                           f"{type(error).__name__}: {error}")
        finally:
            connection.close()

    def failures(self):
        return [outcome for outcome in self.outcomes if not outcome.ok]

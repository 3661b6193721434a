"""moto's server mode as the S3 the tests talk to: a real HTTP server, run as a process of
its own on a free port of 127.0.0.1, holding its buckets in memory.

    with S3Server(log_path) as server:
        server.url                    # what AWS_S3_ENDPOINT_URL points at
        server.client("s3", key_id, secret)
        server.check_signatures(True) # from then on, refuse a request signed with a wrong key

moto checks signatures only in its IAM mode, which knows no signed URLs (a GET through
one fails there): the tests download while it is off and turn it on to try a wrong key.
"""

import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from traffic import free_port

REGION = "eu-west-1"


def moto_server():
    """The moto_server command installed with the test group, or None."""
    return shutil.which("moto_server", path=str(Path(sys.executable).parent)) or shutil.which(
        "moto_server")


class S3Server:
    def __init__(self, log_path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path

    def __enter__(self):
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [moto_server(), "-H", "127.0.0.1", "-p", str(self.port)],
                stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while not self._answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.__exit__()
                raise RuntimeError(f"moto_server did not start: {Path(self.log_path).read_text()}")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc):
        self.process.terminate()
        self.process.wait(timeout=10)

    def _answers(self):
        try:
            urllib.request.urlopen(f"{self.url}/moto-api/data.json", timeout=1).close()
            return True
        except (urllib.error.URLError, ConnectionError):
            return False

    def client(self, service, key_id="testing", secret="testing"):
        import boto3

        return boto3.client(service, endpoint_url=self.url, region_name=REGION,
                            aws_access_key_id=key_id, aws_secret_access_key=secret)

    def check_signatures(self, on):
        """Turn moto's IAM mode on (every request's key and signature are checked) or off."""
        # A form's content type would hide the body from moto (Flask parses it as a form).
        request = urllib.request.Request(f"{self.url}/moto-api/reset-auth",
                                         data=b"0" if on else b"inf", method="POST",
                                         headers={"Content-Type": "text/plain"})
        urllib.request.urlopen(request, timeout=10).close()

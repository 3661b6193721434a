"""The error_reports answer "sentry": an exception in a view reaches Sentry as an event
naming Convox's release, with no personal data, and Sentry stays off without a DSN.

Sentry is a local HTTP server started by the test (sentry_server.py). The request goes to
the project's WSGI application (what gunicorn runs) with the baked settings and
middleware, DEBUG off, in the row's virtualenv. The only addition is a URL whose view
raises, in a URL configuration the script making the request defines and swaps in
(override_settings), so the project stays as baked.
"""

import json

import pytest
from combinations import CHOICES, row_id, rows_with
from conftest import run
from sentry_server import SentryServer, sentry_key

pytestmark = pytest.mark.slow

# The first row of each Django series that answers "sentry".
SENTRY_ROWS = [next(row for row in rows_with("error_reports", "sentry") if row[0] == series)
               for series in CHOICES["django_version"]]
RELEASE = "RTESTRELEASE"  # what Convox sets: the release's id
CLIENT_ADDRESS = "203.0.113.9"  # nginx passes it as X-Real-IP (proxy.py)
SESSION = "a-session-cookie-the-report-must-not-hold"

# Run inside the project (python -c REQUEST STATIC_ROOT): one request to a view that
# raises, handed to the project's WSGI application as gunicorn hands it (nginx's headers
# included), then Sentry's queue flushed. collectstatic fills a temporary STATIC_ROOT with
# the project's own files (the admin's are not needed), so the 500 page renders as in the
# image. The client's address and cookie come from the environment, which reports leave
# out: they quote the source around the raise, and argv.
REQUEST = """
import json
import os
import sys
from wsgiref.util import setup_testing_defaults

import sentry_sdk
from django.core.management import call_command
from django.core.wsgi import get_wsgi_application
from django.test import override_settings
from django.urls import include, path

application = get_wsgi_application()


def fails(request):
    raise ZeroDivisionError('the view failed on purpose')


urlpatterns = [path('fails/', fails), path('', include('exampleproject.urls'))]
environ = {'PATH_INFO': '/fails/', 'HTTP_HOST': 'example.com', 'HTTP_X_FORWARDED_PROTO': 'https',
           'HTTP_X_REAL_IP': os.environ['CLIENT_ADDRESS'],
           'HTTP_COOKIE': 'sessionid=' + os.environ['SESSION']}
setup_testing_defaults(environ)
statuses = []
with override_settings(ROOT_URLCONF='__main__', STATIC_ROOT=sys.argv[1]):
    call_command('collectstatic', '--noinput', '--ignore', 'admin', verbosity=0)
    page = b''.join(application(environ, lambda status, headers: statuses.append(status)))
sentry_sdk.flush(timeout=10)
print(json.dumps({'status': statuses[0], 'page': page.decode(),
                  'sentry_on': sentry_sdk.get_client().is_active()}))
"""


def request_failing_view(project, python, static_root, **env):
    """What a request to a view that raises got in a baked project, run by its
    virtualenv's python: its status, the page, and whether Sentry was on."""
    production = {"SECRET_KEY": "x" * 50, "DEBUG": "false", "RELEASE": RELEASE,
                  "DJANGO_SETTINGS_MODULE": "exampleproject.settings"}
    done = run(python, "-c", REQUEST, static_root, cwd=project,
               env={**production, "CLIENT_ADDRESS": CLIENT_ADDRESS, "SESSION": SESSION, **env})
    return json.loads(done.stdout.splitlines()[-1])


@pytest.mark.parametrize("row", SENTRY_ROWS, ids=map(row_id, SENTRY_ROWS))
def test_an_exception_in_a_view_reaches_sentry_with_the_release_and_no_personal_data(
        row, combination_projects, requirements_python, tmp_path):
    project = combination_projects[row]
    with SentryServer() as sentry:
        seen = request_failing_view(project, requirements_python(project), tmp_path,
                                    SENTRY_DSN=sentry.dsn)
    # templates/500.html, whatever Sentry does.
    assert seen["status"] == "500 Internal Server Error" and "Something went wrong" in seen["page"]
    assert seen["sentry_on"] is True
    assert {path for path, _, _ in sentry.envelopes} == {"/api/1/envelope/"}
    assert sentry.refused == []  # the DSN's key went with every envelope
    [event] = sentry.events()
    assert [value["type"] for value in event["exception"]["values"]] == ["ZeroDivisionError"]
    assert event["release"] == RELEASE
    assert event["environment"] == "production"
    assert event["request"]["url"].endswith("/fails/")
    # send_default_pii off: neither the client's address nor its cookies leave the app.
    sent = repr([headers for _, headers, _ in sentry.envelopes]) + b"".join(
        envelope.serialize() for _, _, envelope in sentry.envelopes).decode()
    assert CLIENT_ADDRESS not in sent and SESSION not in sent
    assert "cookies" not in event["request"] and "user" not in event


# The settings' code is the same on both series: one of them shows it.
@pytest.mark.parametrize("row", SENTRY_ROWS[:1], ids=map(row_id, SENTRY_ROWS[:1]))
def test_sentry_stays_off_while_sentry_dsn_is_empty(row, combination_projects,
                                                   requirements_python, tmp_path):
    project = combination_projects[row]
    # Empty, as convox.yml declares it until `convox env set SENTRY_DSN=...`.
    seen = request_failing_view(project, requirements_python(project), tmp_path, SENTRY_DSN="")
    assert seen["status"] == "500 Internal Server Error" and "Something went wrong" in seen["page"]
    assert seen["sentry_on"] is False


@pytest.mark.parametrize("row", SENTRY_ROWS[:1], ids=map(row_id, SENTRY_ROWS[:1]))
def test_a_dsn_with_another_key_sends_nothing_sentry_accepts(row, combination_projects,
                                                            requirements_python, tmp_path):
    """The stand-in checks the key as Sentry's ingestion does: a DSN whose key is not the
    project's reaches it, and is refused."""
    project = combination_projects[row]
    with SentryServer() as sentry:
        dsn = sentry.dsn.replace("//public@", "//another@")
        seen = request_failing_view(project, requirements_python(project), tmp_path,
                                    SENTRY_DSN=dsn)
    assert seen["status"] == "500 Internal Server Error" and seen["sentry_on"] is True
    assert sentry.envelopes == [] and sentry.refused  # the event, and the SDK's reports
    assert {sentry_key(path, headers) for path, headers in sentry.refused} == {"another"}

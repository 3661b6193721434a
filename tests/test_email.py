"""Email: both Django series read their SMTP server from EMAIL_URL (through one parser in
settings.py), print mail while DEBUG is on, and send Django's password-reset mail to a
real SMTP server (aiosmtpd, started by the test) with a link to the baked domain."""

import email
import email.policy
import json
import re

import pytest
from combinations import CHOICES, ONE_PER_SET, row_id
from conftest import require, run
from traffic import free_port

try:
    from aiosmtpd.controller import Controller
except ImportError:  # the test group is not installed: require() says what to do
    Controller = None

# One row of each Django series: 5.2 sets EMAIL_HOST and friends, 6.1 MAILERS.
SERIES = [next(row for row in ONE_PER_SET if row[0] == series)
          for series in CHOICES["django_version"]]
DOMAIN = "example.com"  # the baked domain_name's default
PRODUCTION = {"SECRET_KEY": "x" * 50, "DEBUG": "false", "DATABASE_URL": "sqlite:///:memory:"}

RESET = """
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

call_command('migrate', verbosity=0)
get_user_model().objects.create_user('ada', 'ada@example.org', 'a-long-passphrase')
# The admin's "Forgotten your password?" page, over HTTPS as nginx tells Django.
response = Client().post('/admin/password_reset/', {'email': 'ada@example.org'},
                         HTTP_HOST='example.com', secure=True)
print(response.status_code, response['Location'])
"""

BACKEND = """
import json
from django.core import mail

# Django 6.1 builds backends from MAILERS; 5.2 from the EMAIL_* settings.
backend = mail.mailers.default if hasattr(mail, 'mailers') else mail.get_connection()
print(json.dumps({key: getattr(backend, key, None) for key in (
    'host', 'port', 'username', 'password', 'use_tls', 'use_ssl', 'timeout')}))
"""


class Inbox:
    """An aiosmtpd handler that keeps every message it accepts."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope)
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_inbox():
    """A real SMTP server on a free port of 127.0.0.1: (port, Inbox)."""
    require(Controller, "aiosmtpd (pip install --group test)")
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller.port, inbox
    controller.stop()


@pytest.mark.slow
@pytest.mark.parametrize("row", SERIES, ids=map(row_id, SERIES))
def test_the_password_reset_mail_reaches_the_smtp_server_with_a_link_to_the_domain(
        row, combination_projects, django_of, smtp_inbox):
    port, inbox = smtp_inbox
    done = django_of(row).run(combination_projects[row], ["shell", "--no-imports", "-c", RESET],
                              {**PRODUCTION, "EMAIL_URL": f"smtp://127.0.0.1:{port}"})
    assert done.stdout.split() == ["302", "/admin/password_reset/done/"]
    assert len(inbox.messages) == 1
    envelope = inbox.messages[0]
    assert envelope.rcpt_tos == ["ada@example.org"]
    message = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert message["From"] == f"webmaster@{DOMAIN}"
    assert message["Subject"] == f"Password reset on {DOMAIN}"
    links = [line for line in message.get_content().splitlines() if "://" in line]
    assert len(links) == 1 and re.fullmatch(rf"https://{re.escape(DOMAIN)}/reset/[\w-]+/[\w-]+/",
                                            links[0]), links


@pytest.mark.slow
@pytest.mark.parametrize("row", SERIES, ids=map(row_id, SERIES))
def test_email_url_gives_the_backend_its_server_with_the_user_and_password_decoded(
        row, combination_projects, django_of):
    url = "smtp+tls://user%40example.com:p%40ss@smtp.example.com"
    options = json.loads(django_of(row).run(combination_projects[row],
                                            ["shell", "--no-imports", "-c", BACKEND],
                                            {**PRODUCTION, "EMAIL_URL": url}).stdout)
    assert options == {"host": "smtp.example.com", "port": 587, "username": "user@example.com",
                       "password": "p@ss", "use_tls": True, "use_ssl": False, "timeout": 10}


@pytest.mark.slow
@pytest.mark.parametrize("row", SERIES, ids=map(row_id, SERIES))
def test_mail_is_printed_while_debug_is_on_and_a_bad_email_url_says_why(
        row, combination_projects, python_of):
    project, python = combination_projects[row], python_of(row)
    env = {**PRODUCTION, "DEBUG": "true"}
    done = run(python, "manage.py", "sendtestemail", "someone@example.com", cwd=project, env=env)
    assert "To: someone@example.com" in done.stdout
    done = run(python, "manage.py", "check", cwd=project, check=False,
               env={**env, "EMAIL_URL": "https://mail.example.com"})
    assert done.returncode != 0
    assert "EMAIL_URL must be smtp+tls://" in done.stderr

"""Tests of the project's own functions and their error paths (tests.py holds the pages)."""

import io
from contextlib import redirect_stderr
from unittest import mock, skipIf
{% if cookiecutter.media_storage == "s3" %}
from botocore.exceptions import ClientError
{%- endif %}
from django.core.exceptions import ImproperlyConfigured
from django.db import OperationalError, connection
from django.test import SimpleTestCase

from . import settings as project_settings
from .health import require_database, wait_for_database
{%- if cookiecutter.media_storage == "s3" %}
from .storage import MediaStorage
{%- endif %}


class EmailUrlTests(SimpleTestCase):
    def test_each_scheme_gets_its_port_and_its_kind_of_tls(self):
        for url, port, use_tls, use_ssl in [
            ('smtp://mail.example.com', 25, False, False),
            ('smtp+tls://mail.example.com', 587, True, False),
            ('smtps://mail.example.com', 465, False, True),
            ('smtp+tls://mail.example.com:2525', 2525, True, False),
        ]:
            with self.subTest(url=url):
                server = project_settings.smtp_server(url)
                self.assertEqual((server['host'], server['port']), ('mail.example.com', port))
                self.assertEqual((server['use_tls'], server['use_ssl']), (use_tls, use_ssl))

    def test_user_and_password_are_url_decoded(self):
        server = project_settings.smtp_server('smtp+tls://me%40example.com:p%2Fss%3A@h:587')
        self.assertEqual((server['username'], server['password']), ('me@example.com', 'p/ss:'))

    def test_another_scheme_or_no_host_is_refused_saying_what_is_expected(self):
        for url in ('https://mail.example.com', 'mail.example.com:587', 'smtp+tls://'):
            with self.subTest(url=url), self.assertRaisesMessage(
                    ImproperlyConfigured, 'EMAIL_URL must be smtp+tls://'):
                project_settings.smtp_server(url)


class DatabaseWaitTests(SimpleTestCase):
    databases = frozenset({'default'})  # the wait connects for real

    def test_sqlite_needs_no_wait(self):
        with mock.patch.object(connection, 'vendor', 'sqlite'), mock.patch('time.sleep') as sleep:
            self.assertIsNone(wait_for_database(30))
        sleep.assert_not_called()

    def test_an_unreachable_database_gives_its_reason_once_the_wait_is_over(self):
        refused = OperationalError('connection refused\nDETAIL: the second line')
        # A clock that only the wait's own sleeps move, so the test takes no real time.
        clock = mock.Mock(return_value=100.0)

        def sleep(seconds):
            clock.return_value += seconds

        with (
            mock.patch.object(connection, 'vendor', 'postgresql'),
            mock.patch.object(connection, 'ensure_connection', side_effect=refused) as tries,
            mock.patch('time.monotonic', clock),
            mock.patch('time.sleep', side_effect=sleep) as slept,
        ):
            self.assertEqual(wait_for_database(3), 'connection refused')
        # One try a second, at 0, 1 and 2 s; a second more would pass the 3 s.
        self.assertEqual(tries.call_count, 3)
        self.assertEqual(slept.call_args_list, [mock.call(1), mock.call(1)])

    @skipIf(connection.vendor == 'sqlite', 'needs a database server (CI runs one)')
    def test_the_real_server_refusing_stops_the_start_in_one_line(self):
        # This project's own database engine, at a port where nothing listens.
        closed = {'HOST': '127.0.0.1', 'PORT': '9'}
        stderr = io.StringIO()
        with (
            mock.patch.dict(connection.settings_dict, closed),
            mock.patch.dict('os.environ', {'DATABASE_WAIT_SECONDS': '2'}),
            redirect_stderr(stderr),
            self.assertRaises(SystemExit) as stopped,
        ):
            require_database()
        connection.close()
        self.assertEqual(stopped.exception.code, 1)
        [line] = stderr.getvalue().splitlines()
        self.assertTrue(line.startswith('bin/web: the database (127.0.0.1) did not answer '
                                        'within 2 s (DATABASE_WAIT_SECONDS): '), line)
{%- if cookiecutter.media_storage == "s3" %}


class MediaStorageTests(SimpleTestCase):
    def refusal(self, status):
        return ClientError({'Error': {'Code': str(status)},
                            'ResponseMetadata': {'HTTPStatusCode': status}}, 'HeadObject')

    def test_a_refused_key_says_which_variables_to_check(self):
        storage = MediaStorage(bucket_name='uploads')
        with (
            mock.patch('storages.backends.s3.S3Storage.exists', side_effect=self.refusal(403)),
            self.assertRaisesMessage(ImproperlyConfigured, "in the bucket 'uploads' (403): "
                                     'check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY'),
        ):
            storage.exists('avatars/ada.png')

    def test_other_errors_are_s3s_own(self):
        storage = MediaStorage(bucket_name='uploads')
        with (
            mock.patch('storages.backends.s3.S3Storage.exists', side_effect=self.refusal(500)),
            self.assertRaises(ClientError),
        ):
            storage.exists('avatars/ada.png')
{%- endif %}

"""Tests of what the template adds: run them with `python manage.py test`."""

import os
import runpy
from pathlib import Path
from unittest import mock, skipUnless

from django.apps import apps
from django.contrib.staticfiles import finders
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.http import HttpResponse
from django.test import RequestFactory, SimpleTestCase, TestCase, override_settings

from .health import wait_for_database
from .proxy import ClientAddressMiddleware

# Tests run without collectstatic, so look static files up unhashed; the hashed,
# collected files are what the container serves.
PLAIN_STATIC_FILES = {
    'default': {'BACKEND': 'django.core.files.storage.FileSystemStorage'},
    'staticfiles': {'BACKEND': 'django.contrib.staticfiles.storage.StaticFilesStorage'},
}


@override_settings(STORAGES=PLAIN_STATIC_FILES)
class PagesTests(TestCase):
    def test_home_page_says_the_project_runs_and_uses_the_app_stylesheet(self):
        response = self.client.get('/', secure=True)
        self.assertContains(response, 'is running')
        self.assertContains(response, 'href="/static/{{ cookiecutter.app_name }}/style.css"')

    def test_admin_login_page_is_served(self):
        response = self.client.get('/admin/login/', secure=True)
        self.assertContains(response, 'name="password"')


class ProxyTests(SimpleTestCase):
    def test_client_address_comes_from_the_header_nginx_sets(self):
        seen = []
        middleware = ClientAddressMiddleware(lambda request: seen.append(request) or HttpResponse())
        middleware(RequestFactory().get('/', REMOTE_ADDR='', HTTP_X_REAL_IP='203.0.113.9'))
        self.assertEqual(seen[0].META['REMOTE_ADDR'], '203.0.113.9')


class AppTests(SimpleTestCase):
    def test_app_is_installed_and_its_static_files_are_found(self):
        self.assertTrue(apps.is_installed('{{ cookiecutter.app_name }}'))
        self.assertTrue(finders.find('{{ cookiecutter.app_name }}/style.css'))


class DatabaseWaitTests(SimpleTestCase):
    @skipUnless(connection.vendor == 'sqlite', 'runs on the SQLite default')
    def test_sqlite_needs_no_wait(self):
        with mock.patch('time.sleep') as sleep:
            self.assertIsNone(wait_for_database(30))
        sleep.assert_not_called()


class SettingsTests(SimpleTestCase):
    def test_settings_refuse_to_load_without_secret_key(self):
        settings_file = Path(__file__).with_name('settings.py')
        # An empty value also stops .env from filling it in: load_dotenv never overrides.
        with (
            mock.patch.dict(os.environ, {'SECRET_KEY': ''}),
            self.assertRaisesMessage(ImproperlyConfigured, 'SECRET_KEY is not set'),
        ):
            runpy.run_path(str(settings_file))

"""Tests of what the template adds: run them with `pytest` or `python manage.py test`."""

import os
import runpy
from io import StringIO
from pathlib import Path
from unittest import mock

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import get_hasher
from django.contrib.staticfiles import finders
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.http import HttpResponse
from django.test import RequestFactory, SimpleTestCase, TestCase, override_settings
from django.utils.html import escape
from django.views.defaults import server_error

from .proxy import ClientAddressMiddleware

PROJECT_NAME = {{ cookiecutter.project_name | pprint }}
STYLESHEET = 'href="/static/{{ cookiecutter.app_name }}/style.css"'

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
        self.assertContains(response, STYLESHEET)

    def test_admin_login_page_is_served(self):
        response = self.client.get('/admin/login/', secure=True)
        self.assertContains(response, 'name="password"')

    def test_admin_login_page_links_to_the_password_reset_form(self):
        response = self.client.get('/admin/login/', secure=True)
        self.assertContains(response, 'href="/admin/password_reset/"')
        response = self.client.get('/admin/password_reset/', secure=True)
        self.assertContains(response, 'name="email"')

    def test_unknown_address_gets_the_site_own_404_page(self):
        with self.assertLogs('django.request', 'WARNING'):
            response = self.client.get('/no-such-page/', secure=True)
        self.assertContains(response, 'Page not found', status_code=404)
        self.assertContains(response, STYLESHEET, status_code=404)

    def test_server_error_page_fits_the_site_without_any_context(self):
        # Django renders 500.html with no context when a view fails.
        response = server_error(RequestFactory().get('/'))
        self.assertEqual(response.status_code, 500)
        self.assertIn('Something went wrong', response.content.decode())
        self.assertIn(STYLESHEET, response.content.decode())

    def test_favicon_ico_leads_to_the_static_icon(self):
        response = self.client.get('/favicon.ico', secure=True)
        self.assertRedirects(response, '/static/{{ cookiecutter.app_name }}/favicon.ico',
                             fetch_redirect_response=False)
        self.assertTrue(finders.find('{{ cookiecutter.app_name }}/favicon.ico'))


@override_settings(STORAGES=PLAIN_STATIC_FILES)
class AccountsTests(TestCase):
    password = 'correct-horse-battery-staple'

    def test_users_are_the_project_own_model(self):
        self.assertEqual(get_user_model()._meta.label, 'accounts.User')

    def test_createsuperuser_then_admin_lists_the_user_under_the_project_name(self):
        with mock.patch.dict(os.environ, {'DJANGO_SUPERUSER_PASSWORD': self.password}):
            call_command('createsuperuser', interactive=False, username='ada',
                         email='ada@example.com', stdout=StringIO())
        response = self.client.post(
            '/admin/login/?next=/admin/accounts/user/',
            {'username': 'ada', 'password': self.password},
            secure=True, follow=True,
        )
        self.assertContains(response, 'ada@example.com')
        self.assertContains(response, f'<a href="/admin/">{escape(PROJECT_NAME)}</a>')


# A fast hasher: these tests sign in wrongly dozens of times.
@override_settings(STORAGES=PLAIN_STATIC_FILES,
                   PASSWORD_HASHERS=['django.contrib.auth.hashers.MD5PasswordHasher'])
class SignInThrottlingTests(TestCase):
    password = 'correct-horse-battery-staple'

    def setUp(self):
        get_user_model().objects.create_user('ada', 'ada@example.com', self.password,
                                             is_staff=True)

    def sign_in(self, password, username='ada', address='203.0.113.9'):
        # The address as nginx passes it on (proxy.py).
        return self.client.post('/admin/login/?next=/admin/',
                                {'username': username, 'password': password},
                                secure=True, HTTP_X_REAL_IP=address)

    def test_ten_wrong_passwords_lock_the_account_out_before_a_password_is_hashed(self):
        hasher = type(get_hasher())
        counted = mock.patch.object(hasher, 'verify', autospec=True, side_effect=hasher.verify)
        with counted as verify:
            for _ in range(settings.AXES_FAILURE_LIMIT - 1):
                self.assertEqual(self.sign_in('wrong').status_code, 200)
            self.assertContains(self.sign_in('wrong'), 'Too many failed sign-ins', status_code=429)
            self.assertEqual(verify.call_count, settings.AXES_FAILURE_LIMIT)
            # The right password, from another address: refused, and never hashed.
            response = self.sign_in(self.password, address='198.51.100.7')
        self.assertContains(response, 'Try again in 15 minutes', status_code=429)
        self.assertEqual(verify.call_count, settings.AXES_FAILURE_LIMIT)

    def test_axes_reset_username_unlocks_the_account(self):
        for _ in range(settings.AXES_FAILURE_LIMIT):
            self.sign_in('wrong')
        call_command('axes_reset_username', 'ada', stdout=StringIO())
        self.assertRedirects(self.sign_in(self.password), '/admin/', fetch_redirect_response=False)

    def test_failures_from_one_address_lock_that_address_out_for_every_username(self):
        for number in range(settings.AXES_FAILURE_LIMIT):
            self.sign_in('wrong', username=f'guess{number}')
        self.assertEqual(self.sign_in(self.password).status_code, 429)
        self.assertRedirects(self.sign_in(self.password, address='198.51.100.7'), '/admin/',
                             fetch_redirect_response=False)


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


class SettingsTests(SimpleTestCase):
    def test_settings_refuse_to_load_without_secret_key(self):
        settings_file = Path(__file__).with_name('settings.py')
        # An empty value also stops .env from filling it in: load_dotenv never overrides.
        with (
            mock.patch.dict(os.environ, {'SECRET_KEY': ''}),
            self.assertRaisesMessage(ImproperlyConfigured, 'SECRET_KEY is not set'),
        ):
            runpy.run_path(str(settings_file))

    def test_an_empty_database_url_means_the_sqlite_default(self):
        # `DATABASE_URL=` in .env or a shell counts as unset, as for the other variables.
        settings_file = Path(__file__).with_name('settings.py')
        with mock.patch.dict(os.environ, {'DATABASE_URL': ''}):
            database = runpy.run_path(str(settings_file))['DATABASES']['default']
        self.assertEqual(database['ENGINE'], 'django.db.backends.sqlite3')
        self.assertEqual(Path(database['NAME']), settings_file.parent.parent / 'db.sqlite3')

"""
Django settings for {{ cookiecutter.project_slug }} project.

Laid out like the settings 'django-admin startproject' writes (Django {{ cookiecutter.django_version }}); what differs
between a laptop and Convox is read from the environment, and each change says why.
.env.example lists every variable read here, with its default; .env is its local copy.

For more information on this file, see
https://docs.djangoproject.com/en/{{ cookiecutter.django_version }}/topics/settings/

For the full list of settings and their values, see
https://docs.djangoproject.com/en/{{ cookiecutter.django_version }}/ref/settings/
"""

import os
import urllib.parse
from datetime import timedelta
from pathlib import Path

import dj_database_url
{%- if cookiecutter.error_reports == "sentry" %}
import sentry_sdk
{%- endif %}
{%- if cookiecutter.django_version == "5.2" %}
from csp.constants import NONE, SELF
{%- endif %}
from django.core.exceptions import ImproperlyConfigured
{%- if cookiecutter.django_version != "5.2" %}
from django.utils.csp import CSP
{%- endif %}
from dotenv import load_dotenv

# Build paths inside the project like this: BASE_DIR / 'subdir'.
BASE_DIR = Path(__file__).resolve().parent.parent

# Local runs read .env; a variable already set (by Convox or the shell) wins over it.
load_dotenv(BASE_DIR / '.env')


def env_list(name, default):
    """A comma-separated environment variable as a list; empty counts as unset."""
    return [item.strip() for item in (os.environ.get(name) or default).split(',') if item.strip()]


# Deployment checklist
# See https://docs.djangoproject.com/en/{{ cookiecutter.django_version }}/howto/deployment/checklist/

# SECURITY WARNING: keep the secret key used in production secret!
# Never in code: .env holds it locally, `convox env set` on a rack.
SECRET_KEY = os.environ.get('SECRET_KEY', '')
if not SECRET_KEY:
    raise ImproperlyConfigured(
        'SECRET_KEY is not set: add SECRET_KEY=<50+ random characters> to .env for local '
        'runs, or run `convox env set SECRET_KEY=...` for a deployed app.'
    )

# SECURITY WARNING: don't run with debug turned on in production!
# Off unless the environment turns it on, so a missing variable fails safe.
DEBUG = os.environ.get('DEBUG', '').lower() in {'1', 'true', 'yes', 'on'}

# The baked domain works in production with no setting; localhost serves local runs.
ALLOWED_HOSTS = env_list('ALLOWED_HOSTS', '{{ cookiecutter.domain_name }},localhost,127.0.0.1,[::1]')

# Forms posted over HTTPS (the admin login) must come from an allowed host.
CSRF_TRUSTED_ORIGINS = env_list(
    'CSRF_TRUSTED_ORIGINS',
    ','.join(f'https://*{host}' if host.startswith('.') else f'https://{host}'
             for host in ALLOWED_HOSTS if host != '*'),
)


# Application definition

INSTALLED_APPS = [
    'django.contrib.admin',
    'django.contrib.auth',
    'django.contrib.contenttypes',
    'django.contrib.sessions',
    'django.contrib.messages',
    'django.contrib.staticfiles',
    # Failed sign-ins counted in the database, to refuse a flood (AXES_* below).
    'axes',
    # The project's user model (accounts/models.py): AUTH_USER_MODEL below.
    '{{ cookiecutter.project_slug }}.accounts',
{%- if cookiecutter.background_tasks == "django-tasks" %}
{%- if cookiecutter.django_version == "5.2" %}
    # Django 6's Tasks framework, for 5.2 (the background_tasks answer "django-tasks").
    'django_tasks',
{%- endif %}
    # Tasks queued in the database, for `manage.py db_worker` to run.
    'django_tasks_db',
{%- endif %}
{%- if cookiecutter.background_tasks != "none" %}
    # The example background task and the row it writes (background/tasks.py).
    '{{ cookiecutter.project_slug }}.background',
{%- endif %}
    '{{ cookiecutter.app_name }}',
]

MIDDLEWARE = [
    # The client's address, as nginx passes it on, in REMOTE_ADDR.
    '{{ cookiecutter.project_slug }}.proxy.ClientAddressMiddleware',
    'django.middleware.security.SecurityMiddleware',
    # The Content-Security-Policy header ({{ "CONTENT_SECURITY_POLICY" if cookiecutter.django_version == "5.2" else "SECURE_CSP" }} below).
{%- if cookiecutter.django_version == "5.2" %}
    'csp.middleware.CSPMiddleware',
{%- else %}
    'django.middleware.csp.ContentSecurityPolicyMiddleware',
{%- endif %}
    'django.contrib.sessions.middleware.SessionMiddleware',
    'django.middleware.common.CommonMiddleware',
    'django.middleware.csrf.CsrfViewMiddleware',
    'django.contrib.auth.middleware.AuthenticationMiddleware',
    'django.contrib.messages.middleware.MessageMiddleware',
    'django.middleware.clickjacking.XFrameOptionsMiddleware',
    # Last, as django-axes asks: turns a refused sign-in into the 429 page.
    'axes.middleware.AxesMiddleware',
]

ROOT_URLCONF = '{{ cookiecutter.project_slug }}.urls'

TEMPLATES = [
    {
        'BACKEND': 'django.template.backends.django.DjangoTemplates',
        # Project-wide templates (the home page, 404 and 500 pages) beside manage.py.
        'DIRS': [BASE_DIR / 'templates'],
        'APP_DIRS': True,
        'OPTIONS': {
            'context_processors': [
                'django.template.context_processors.request',
                'django.contrib.auth.context_processors.auth',
                'django.contrib.messages.context_processors.messages',
            ],
        },
    },
]

WSGI_APPLICATION = '{{ cookiecutter.project_slug }}.wsgi.application'


# Database
# https://docs.djangoproject.com/en/{{ cookiecutter.django_version }}/ref/settings/#databases
# Convox sets DATABASE_URL for a linked database or a resource; without it (or empty, as
# for the other variables here) the project runs on a SQLite file, so a laptop needs
# nothing else. Connections are kept for ten minutes and checked before reuse, so a
# restarted database costs no failed request.

DATABASES = {
    'default': dj_database_url.parse(
        os.environ.get('DATABASE_URL') or f'sqlite:///{BASE_DIR / "db.sqlite3"}',
        conn_max_age=600,
        conn_health_checks=True,
    ),
}
{%- if cookiecutter.database == "mysql" %}

# MySQL and MariaDB (the database answer "mysql"): four-byte UTF-8, so any character
# (emoji too) fits, and strict mode, which turns a value that does not fit into an error
# instead of a silently cut one (Django's check mysql.W002). A server that stops
# answering costs a request 2 s (connect_timeout) instead of holding a worker until
# gunicorn's 30 s timeout, so other pages and /health/ keep answering. Options in
# DATABASE_URL's query string win over these.
if DATABASES['default']['ENGINE'] == 'django.db.backends.mysql':
    DATABASES['default']['OPTIONS'] = {
        'charset': 'utf8mb4',
        'init_command': "SET sql_mode='STRICT_TRANS_TABLES'",
        'connect_timeout': 2,
        **DATABASES['default'].get('OPTIONS', {}),
    }
{%- else %}

# A PostgreSQL server that stops answering costs a request 2 s (the shortest
# connect_timeout libpq and psycopg allow) instead of holding a worker until gunicorn's
# 30 s timeout, so other pages and /health/ keep answering. DATABASE_URL may set its own
# (`?connect_timeout=5`).
if DATABASES['default']['ENGINE'] == 'django.db.backends.postgresql':
    DATABASES['default'].setdefault('OPTIONS', {}).setdefault('connect_timeout', 2)
{%- endif %}


# Custom user model
# https://docs.djangoproject.com/en/{{ cookiecutter.django_version }}/topics/auth/customizing/#substituting-a-custom-user-model
# Set before the first migrate, as Django recommends: it cannot easily change afterwards.

AUTH_USER_MODEL = 'accounts.User'


# Sign-in throttling
# https://django-axes.readthedocs.io/en/latest/4_configuration.html
# django-axes 8 counts failed sign-ins in the database, so every container sees the same
# count. After 10 failures for one username, or from one client address, any sign-in as
# that username or from that address is refused with templates/locked_out.html (429)
# before a password is hashed, for 15 minutes from the 10th failure. The README says how
# to unlock an account sooner. nginx also limits how fast one address may post the
# sign-in and password-reset forms (conf/nginx.conf).

AUTHENTICATION_BACKENDS = [
    # First: it refuses a locked-out sign-in before ModelBackend hashes the password.
    'axes.backends.AxesStandaloneBackend',
    'django.contrib.auth.backends.ModelBackend',
]

AXES_FAILURE_LIMIT = 10

AXES_COOLOFF_TIME = timedelta(minutes=15)

AXES_LOCKOUT_PARAMETERS = ['username', 'ip_address']

AXES_LOCKOUT_TEMPLATE = 'locked_out.html'

# A refused try is not recorded: a flood costs a read each, not a write to a row that
# grows with every try (axes's default), and the lock ends on time.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False

# The address nginx logs (proxy.py), whatever django-ipware, if something installs it,
# would make of the headers.
AXES_CLIENT_IP_CALLABLE = '{{ cookiecutter.project_slug }}.proxy.client_address'
{%- if cookiecutter.background_tasks == "django-tasks" %}


# Background tasks
{%- if cookiecutter.django_version == "5.2" %}
# https://github.com/RealOrangeOne/django-tasks (Django 6's Tasks framework, for 5.2)
{%- else %}
# https://docs.djangoproject.com/en/{{ cookiecutter.django_version }}/topics/tasks/
{%- endif %}
# Queued as rows in the database (django-tasks-db), so no other server is needed; the
# worker service runs them with `manage.py db_worker`. On SIGTERM the worker finishes the
# task it is running, then exits (convox.yml gives it 120 s).

TASKS = {
    'default': {
        'BACKEND': 'django_tasks_db.DatabaseBackend',
    },
}
{%- elif cookiecutter.background_tasks == "celery" %}


# Background tasks
# https://docs.celeryq.dev/en/stable/django/first-steps-with-django.html
# Celery reads the CELERY_* settings here (celery.py). Redis is the broker: Convox's redis
# resource (or the first generation's linked redis container) sets REDIS_URL; without it,
# a Redis on this machine.

CELERY_BROKER_URL = os.environ.get('REDIS_URL') or 'redis://127.0.0.1:6379/0'

# Celery 5: a task is acknowledged when it ends, not when the worker takes it (ACKS_LATE),
# and a task whose worker process dies goes back to the queue (REJECT_ON_WORKER_LOST): a
# task cut off by a deploy runs again instead of being lost, so tasks must be safe to run
# twice. On SIGTERM the worker finishes what it runs first (a warm shutdown).
CELERY_TASK_ACKS_LATE = True

CELERY_TASK_REJECT_ON_WORKER_LOST = True

# Each worker process reserves only the task it runs, so a stopping worker holds back no
# queued task.
CELERY_WORKER_PREFETCH_MULTIPLIER = 1

# Two worker processes fit convox.yml's 512 MB; Celery's default is one per CPU the host
# has, which in a container may be dozens.
CELERY_WORKER_CONCURRENCY = 2

# Wait for Redis at start instead of exiting, as bin/web waits for the database.
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
{%- endif %}


# Password validation
# https://docs.djangoproject.com/en/{{ cookiecutter.django_version }}/ref/settings/#auth-password-validators

AUTH_PASSWORD_VALIDATORS = [
    {
        'NAME': 'django.contrib.auth.password_validation.UserAttributeSimilarityValidator',
    },
    {
        'NAME': 'django.contrib.auth.password_validation.MinimumLengthValidator',
    },
    {
        'NAME': 'django.contrib.auth.password_validation.CommonPasswordValidator',
    },
    {
        'NAME': 'django.contrib.auth.password_validation.NumericPasswordValidator',
    },
]


# Internationalization
# https://docs.djangoproject.com/en/{{ cookiecutter.django_version }}/topics/i18n/

LANGUAGE_CODE = 'en-us'

TIME_ZONE = 'UTC'

USE_I18N = True

USE_TZ = True


# Static files (CSS, JavaScript, Images)
# https://docs.djangoproject.com/en/{{ cookiecutter.django_version }}/howto/static-files/

STATIC_URL = 'static/'

# collectstatic gathers each app's static/ folder here; nginx serves it in the container.
STATIC_ROOT = BASE_DIR / 'staticfiles'

# Hashed names (style.1a2b3c4d5e6f.css) change with the content, so they can be cached
# for a year. With DEBUG off, run collectstatic first: templates need its manifest.
STORAGES = {
    'default': {
{%- if cookiecutter.media_storage == "s3" %}
        # Uploads go to an S3 bucket (the media_storage answer "s3"): django-storages'
        # S3Storage, which storage.py tells to name the variables to check when S3 refuses
        # the key. Static files stay with nginx. Private: objects get no ACL of their own
        # (the bucket's, which grants no public read), and their URLs are signed with
        # Signature Version 4 and expire after an hour.
        'BACKEND': '{{ cookiecutter.project_slug }}.storage.MediaStorage',
        'OPTIONS': {
            'bucket_name': os.environ.get('AWS_STORAGE_BUCKET_NAME', ''),
            # The bucket's region, such as eu-west-1: signed URLs name it. Unset: boto3's
            # own default (AWS_DEFAULT_REGION, else us-east-1).
            'region_name': os.environ.get('AWS_S3_REGION_NAME') or None,
            # Another S3-compatible service, such as https://s3.example.net. Unset: AWS.
            'endpoint_url': os.environ.get('AWS_S3_ENDPOINT_URL') or None,
            # Unset: boto3 looks for credentials itself, such as an instance role on AWS.
            'access_key': os.environ.get('AWS_ACCESS_KEY_ID') or None,
            'secret_key': os.environ.get('AWS_SECRET_ACCESS_KEY') or None,
            'default_acl': None,
            'querystring_auth': True,
            'signature_version': 's3v4',
            # A second upload with the same name gets a new name, never replaces the first.
            'file_overwrite': False,
        },
{%- else %}
        'BACKEND': 'django.core.files.storage.FileSystemStorage',
{%- endif %}
    },
    'staticfiles': {
        'BACKEND': 'django.contrib.staticfiles.storage.ManifestStaticFilesStorage',
    },
}
{%- if cookiecutter.media_storage == "local" %}


# Uploaded files (FileField, ImageField)
# https://docs.djangoproject.com/en/{{ cookiecutter.django_version }}/topics/files/
# On the container's disk (the media_storage answer "local"): every deploy starts new
# containers from the image, and the uploads of the old ones are gone. nginx does not
# serve them; runserver does while DEBUG is on (urls.py).

MEDIA_URL = 'media/'

MEDIA_ROOT = BASE_DIR / 'media'
{%- endif %}


# HTTPS
# https://docs.djangoproject.com/en/{{ cookiecutter.django_version }}/topics/security/#ssl-https
# TLS ends at the Convox balancer or router. nginx in the container sets
# X-Forwarded-Proto on every request, replacing whatever the client sent, so Django may
# trust it: https on 4001, http on 4000, and on the router port what the router says
# (http when nothing sits in front, as with `docker compose run -p 8000:3000 web`).

SECURE_PROXY_SSL_HEADER = ('HTTP_X_FORWARDED_PROTO', 'https')

SECURE_SSL_REDIRECT = not DEBUG

SESSION_COOKIE_SECURE = not DEBUG

CSRF_COOKIE_SECURE = not DEBUG

# HSTS tells browsers to use only HTTPS for this domain and all its subdomains for
# SECURE_HSTS_SECONDS, and allows submitting it to the browsers' preload list. Neither is
# quickly undone: while trying out a new domain, set SECURE_HSTS_SECONDS=3600.
SECURE_HSTS_SECONDS = 0 if DEBUG else int(os.environ.get('SECURE_HSTS_SECONDS') or '31536000')

SECURE_HSTS_INCLUDE_SUBDOMAINS = True

SECURE_HSTS_PRELOAD = True


# Content security policy
{%- if cookiecutter.django_version == "5.2" %}
# https://django-csp.readthedocs.io/en/latest/configuration.html (django-csp; Django 6.0
# and later have it built in)
{%- else %}
# https://docs.djangoproject.com/en/{{ cookiecutter.django_version }}/ref/csp/
{%- endif %}
# Nothing by default ('none'), then what pages use, from this site only: scripts, styles,
# images, fonts and the admin's requests back to the site; no inline script, no plugin,
# no framing. Enforced, not report-only: the project's templates and Django's admin need
# nothing more (no inline script or style, nothing from another site; the template's
# browser test sees no violation), so the policy blocks only what an attacker injects. A
# page that needs more (a CDN, an analytics script) adds that source to a directive here.
{%- if cookiecutter.django_version == "5.2" %}

CONTENT_SECURITY_POLICY = {
    'DIRECTIVES': {
        'default-src': [NONE],
        'script-src': [SELF],
        'style-src': [SELF],
        'img-src': [SELF],
        'font-src': [SELF],
        'connect-src': [SELF],
        'base-uri': [NONE],
        'form-action': [SELF],
        'frame-ancestors': [NONE],
    },
}
{%- else %}

SECURE_CSP = {
    'default-src': [CSP.NONE],
    'script-src': [CSP.SELF],
    'style-src': [CSP.SELF],
    'img-src': [CSP.SELF],
    'font-src': [CSP.SELF],
    'connect-src': [CSP.SELF],
    'base-uri': [CSP.NONE],
    'form-action': [CSP.SELF],
    'frame-ancestors': [CSP.NONE],
}
{%- endif %}


# Logging
# https://docs.djangoproject.com/en/{{ cookiecutter.django_version }}/topics/logging/
# Convox keeps what processes print. By default, with DEBUG off, Django only emails
# errors to ADMINS: print warnings and errors instead, tracebacks included, once.

LOGGING = {
    'version': 1,
    'disable_existing_loggers': False,
    'handlers': {
        'console': {
            'class': 'logging.StreamHandler',
        },
    },
    'root': {
        'handlers': ['console'],
        'level': 'WARNING',
    },
    'loggers': {
        # No handlers of its own (Django's print only while debugging): it passes its
        # records to the root logger's.
        'django': {
            'handlers': [],
            'level': 'INFO',
        },
    },
}
{%- if cookiecutter.error_reports == "sentry" %}


# Error reports (the error_reports answer "sentry")
# https://docs.sentry.io/platforms/python/integrations/django/
# Sent to Sentry only when SENTRY_DSN is set, so local runs and tests send nothing. Each
# report names the Convox release that raised it: every process gets RELEASE from the
# rack (v3: convox/convox provider/k8s/helpers.go, releaseEnvironment; v2: convox/rack
# provider/aws/formation/service.json.tmpl; first generation: convox/rack
# provider/aws/lambda/formation/handler/ecs.go); unset, as on a laptop, Sentry falls back
# to SENTRY_RELEASE or the checkout's git commit. sentry-sdk 2 turns its Django integration
# on by itself. No personal data: users' IP addresses, cookies and who is signed in stay
# out of reports. Performance tracing stays off (no traces_sample_rate): it costs quota.

SENTRY_DSN = os.environ.get('SENTRY_DSN', '')

if SENTRY_DSN:
    sentry_sdk.init(
        dsn=SENTRY_DSN,
        release=os.environ.get('RELEASE'),
        environment=os.environ.get('SENTRY_ENVIRONMENT') or 'production',
        send_default_pii=False,
    )
{%- endif %}


# Email
# https://docs.djangoproject.com/en/{{ cookiecutter.django_version }}/topics/email/{{ "#smtp-backend" if cookiecutter.django_version == "5.2" else "#topic-email-configuration" }}
# A real SMTP server, named by EMAIL_URL: smtp+tls://USER:PASSWORD@HOST:587 (STARTTLS),
# smtps://USER:PASSWORD@HOST:465 (TLS from the start) or smtp://HOST:25 (no TLS), with
# the user and password URL-encoded. Unset, mail is printed while DEBUG is on, and goes
# to an SMTP server on localhost (Django's own default) when it is off
{%- if cookiecutter.django_version == "5.2" %}.
{%- else %}: the deploy check
# mail.E001 refuses a console backend in production.
{%- endif %}


def smtp_server(url):
    """The SMTP server an EMAIL_URL names: host, port, username, password, use_tls and
    use_ssl, as Django's SMTP backend takes them."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in {'smtp', 'smtp+tls', 'smtps'} or not parts.hostname:
        raise ImproperlyConfigured(
            'EMAIL_URL must be smtp+tls://USER:PASSWORD@HOST:587, smtps://USER:PASSWORD@HOST:465 '
            f'or smtp://HOST:25, not a {parts.scheme or "scheme-less"} URL.'
        )
    default_port = {'smtp': 25, 'smtp+tls': 587, 'smtps': 465}[parts.scheme]
    return {
        'host': parts.hostname,
        'port': parts.port or default_port,
        'username': urllib.parse.unquote(parts.username or ''),
        'password': urllib.parse.unquote(parts.password or ''),
        'use_tls': parts.scheme == 'smtp+tls',
        'use_ssl': parts.scheme == 'smtps',
    }


EMAIL_URL = os.environ.get('EMAIL_URL', '')
{%- if cookiecutter.django_version == "5.2" %}

smtp = smtp_server(EMAIL_URL or 'smtp://localhost:25')

EMAIL_BACKEND = (
    'django.core.mail.backends.console.EmailBackend'
    if DEBUG and not EMAIL_URL
    else 'django.core.mail.backends.smtp.EmailBackend'
)
EMAIL_HOST = smtp['host']
EMAIL_PORT = smtp['port']
EMAIL_HOST_USER = smtp['username']
EMAIL_HOST_PASSWORD = smtp['password']
EMAIL_USE_TLS = smtp['use_tls']
EMAIL_USE_SSL = smtp['use_ssl']
# Give up on a server that does not answer, rather than hold a worker.
EMAIL_TIMEOUT = 10
{%- else %}

MAILERS = {
    'default': (
        {'BACKEND': 'django.core.mail.backends.console.EmailBackend'}
        if DEBUG and not EMAIL_URL
        else {
            'BACKEND': 'django.core.mail.backends.smtp.EmailBackend',
            # Give up on a server that does not answer, rather than hold a worker.
            'OPTIONS': {**smtp_server(EMAIL_URL or 'smtp://localhost:25'), 'timeout': 10},
        }
    ),
}
{%- endif %}

# The sender of the site's own mail (password resets), and of the error reports Django
# mails to ADMINS. Django's defaults, webmaster@localhost and root@localhost, are
# addresses most SMTP servers refuse to send from.
DEFAULT_FROM_EMAIL = os.environ.get('DEFAULT_FROM_EMAIL') or 'webmaster@{{ cookiecutter.domain_name }}'

SERVER_EMAIL = os.environ.get('SERVER_EMAIL') or 'webmaster@{{ cookiecutter.domain_name }}'
{%- if cookiecutter.django_version == "5.2" %}


# Default primary key field type
# https://docs.djangoproject.com/en/{{ cookiecutter.django_version }}/ref/settings/#default-auto-field

DEFAULT_AUTO_FIELD = 'django.db.models.BigAutoField'
{%- endif %}

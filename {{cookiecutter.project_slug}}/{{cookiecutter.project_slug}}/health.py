"""The database check bin/web makes before it opens a port, and why /health/ makes none.

/health/ is what Convox's balancers and probes and the image's HEALTHCHECK ask. nginx
answers it (conf/nginx.conf), and only while bin/web runs, which is only once the app
has loaded in gunicorn and only while gunicorn runs. It never asks the database: the
database is shared, so a check that failed with it would take every container out of
the balancer, or get every one restarted, at the same moment; and through gunicorn, a
hung database holding every worker would hold the check too.

The database is checked once, before the container opens a port: gunicorn's master
calls require_database() once it has loaded the app and before it opens its socket
(gunicorn.conf.py), and bin/web starts nginx, which opens the ports, only after that
socket appears. So a release that cannot reach its database never takes traffic, and the
check costs no second Python process at start-up. `python -m {{ cookiecutter.project_slug }}.health`
makes the same check from a shell (`convox run web python -m {{ cookiecutter.project_slug }}.health`).
"""

import os
import sys
import time


def wait_for_database(seconds, attempt_timeout=5):
    """None once the default database accepts a connection, else why it never did.

    SQLite needs no wait. Each attempt gives up after attempt_timeout seconds, so a
    database that accepts connections and never answers cannot hold the start forever.
    """
    from django.db import DatabaseError, connection

    if connection.vendor == 'sqlite':
        return None
    options = connection.settings_dict.setdefault('OPTIONS', {})
    deadline = time.monotonic() + seconds
    while True:
        remaining = deadline - time.monotonic()
        # Whole seconds: libpq and MySQL read connect_timeout as an integer.
        options['connect_timeout'] = max(1, min(attempt_timeout, round(remaining)))
        try:
            connection.ensure_connection()
            return None
        except DatabaseError as error:
            reason = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
        finally:
            connection.close()
        if time.monotonic() + 1 >= deadline:
            return reason
        time.sleep(1)


def require_database():
    """Return once the database answers; else print one line and exit 1."""
    from django.db import connection

    seconds = float(os.environ.get('DATABASE_WAIT_SECONDS') or 30)
    reason = wait_for_database(seconds)
    if reason is None:
        return
    where = connection.settings_dict.get('HOST') or 'its socket'
    print(
        f'bin/web: the database ({where}) did not answer within {seconds:g} s '
        f'(DATABASE_WAIT_SECONDS): {reason}',
        file=sys.stderr,
    )
    sys.exit(1)


def main():
    import django

    os.environ.setdefault('DJANGO_SETTINGS_MODULE', '{{ cookiecutter.project_slug }}.settings')
    django.setup()
    require_database()


if __name__ == '__main__':
    main()

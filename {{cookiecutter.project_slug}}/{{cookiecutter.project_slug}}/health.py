"""The database check bin/web makes before it opens a port, and why /health/ makes none.

/health/ is what Convox's balancers and probes and the image's HEALTHCHECK ask. nginx
answers it (conf/nginx.conf), and only while bin/web runs, which is only once the app
has loaded in gunicorn and only while gunicorn runs. It never asks the database: the
database is shared, so a check that failed with it would take every container out of
the balancer, or get every one restarted, at the same moment; and through gunicorn, a
hung database holding every worker would hold the check too.

The database is checked once, before the container opens a port: `python -m
{{ cookiecutter.project_slug }}.health` (bin/web runs it) waits up to DATABASE_WAIT_SECONDS for it to
answer, so a release that cannot reach its database never takes traffic.
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


def main():
    import django

    os.environ.setdefault('DJANGO_SETTINGS_MODULE', '{{ cookiecutter.project_slug }}.settings')
    django.setup()
    from django.db import connection

    seconds = float(os.environ.get('DATABASE_WAIT_SECONDS') or 30)
    reason = wait_for_database(seconds)
    if reason is None:
        return 0
    where = connection.settings_dict.get('HOST') or 'its socket'
    print(
        f'bin/web: the database ({where}) did not answer within {seconds:g} s '
        f'(DATABASE_WAIT_SECONDS): {reason}',
        file=sys.stderr,
    )
    return 1


if __name__ == '__main__':
    sys.exit(main())

"""The health check behind /health/, for Convox's balancer and the image's HEALTHCHECK.

HealthCheckMiddleware sits first in MIDDLEWARE, so it answers before Django checks the
Host header (probes use the container's IP address), redirects to HTTPS or appends a
slash. It answers 200 when the database runs `SELECT 1`, else 503, and never says why:
the reason goes to the log.
"""

import logging
import queue
import threading

from django.db import DatabaseError, connection
from django.http import HttpResponse
from django.utils.cache import add_never_cache_headers

PATH = '/health/'

# Balancer checks time out after 2 to 3 seconds: answer 503 before they give up.
DATABASE_TIMEOUT = 1.5

logger = logging.getLogger(__name__)


def database_answers():
    """Run SELECT 1 on a connection of its own, and give up after DATABASE_TIMEOUT.

    A thread gets its own connection from Django, so a hung database cannot stall the
    worker: the check returns on time and the thread ends with its connection.
    """
    answers = queue.SimpleQueue()

    def ping():
        try:
            with connection.cursor() as cursor:
                cursor.execute('SELECT 1')
                cursor.fetchone()
            answers.put(True)
        except DatabaseError as error:
            logger.warning('Health check: the database did not answer: %s', error)
            answers.put(False)
        finally:
            connection.close()

    threading.Thread(target=ping, daemon=True).start()
    try:
        return answers.get(timeout=DATABASE_TIMEOUT)
    except queue.Empty:
        logger.warning('Health check: no answer from the database in %ss', DATABASE_TIMEOUT)
        return False


class HealthCheckMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info != PATH:
            return self.get_response(request)
        healthy = database_answers()
        response = HttpResponse(
            'ok\n' if healthy else 'unavailable\n',
            status=200 if healthy else 503,
            content_type='text/plain',
        )
        add_never_cache_headers(response)
        return response

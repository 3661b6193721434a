"""gunicorn settings, read from the working directory when bin/web starts gunicorn.

bin/web gives the address: a Unix socket that only nginx, in the same container, uses.
https://gunicorn.org/reference/settings/
"""

import gc
import os

# Two processes suit a container with one or two CPUs; raise WEB_CONCURRENCY with them.
workers = int(os.environ.get('WEB_CONCURRENCY') or '2')

# Load the app before forking: an app that cannot start stops bin/web at once, the
# socket appears only once the app is ready, and the workers share its memory.
preload_app = True

# The documented recipe for forked workers that keep sharing the master's memory
# (https://docs.python.org/3/library/gc.html#gc.freeze): no collections while the app
# loads (this file is read before it), then everything the app made is frozen before
# each fork, so no collection ever writes to those objects' headers and copies the
# pages they sit on into a worker. Measured on Python 3.13 with two workers: 119 MiB
# PSS after load without it, 94 MiB with it (benchmarks/serve.py in the template's
# repository); and loading the app takes 0.295 s of CPU instead of 0.323 s.
gc.disable()


def on_starting(server):
    # The app has loaded (preload_app) and the socket does not exist yet: wait here for
    # the database, so nginx (which bin/web starts once the socket appears) never opens a
    # port for a release that cannot reach it. It exits with one line if it never answers.
    from {{ cookiecutter.project_slug }}.health import require_database

    require_database()


def pre_fork(server, worker):
    gc.freeze()
    gc.enable()  # objects made from here on are collected as usual, in every process


# Under nginx's proxy_read_timeout (35 s), so a slow request ends here.
timeout = 30

# On a stop, bin/web first lets nginx finish its requests (at most 25 s), then gives
# gunicorn this long for what it still holds: 35 s in all, under convox.yml's
# termination grace (45 s).
graceful_timeout = 10

# Workers signal they are alive through a file: keep it in memory, not on the image's
# overlay disk, where a slow write can get a healthy worker killed.
worker_tmp_dir = '/dev/shm' if os.path.isdir('/dev/shm') else None

# Warnings and errors only (a worker that timed out or died, an app that failed to load):
# nginx writes one line per request, and a start-up that fails prints one line, not
# gunicorn's start-up chatter before it.
loglevel = 'warning'

# No access log: nginx writes one line per request, static files included (nginx.conf).
accesslog = None

# No control socket: nothing here uses it, and the image's user has no home to put it in.
control_socket_disable = True

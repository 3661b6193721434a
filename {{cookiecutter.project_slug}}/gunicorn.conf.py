"""gunicorn settings, read from the working directory when bin/web starts gunicorn.

bin/web gives the address: a Unix socket that only nginx, in the same container, uses.
https://gunicorn.org/reference/settings/
"""

import os

# Two processes suit a container with one or two CPUs; raise WEB_CONCURRENCY with them.
workers = int(os.environ.get('WEB_CONCURRENCY', '2'))

# Load the app before forking: an app that cannot start stops bin/web at once, the
# socket appears only once the app is ready, and the workers share its memory.
preload_app = True

# Under nginx's proxy_read_timeout (35 s), so a slow request ends here.
timeout = 30

# On a stop, bin/web first lets nginx finish its requests (at most 25 s), then gives
# gunicorn this long for what it still holds: 35 s in all, under convox.yml's
# termination grace (45 s).
graceful_timeout = 10

# Workers signal they are alive through a file: keep it in memory, not on the image's
# overlay disk, where a slow write can get a healthy worker killed.
worker_tmp_dir = '/dev/shm' if os.path.isdir('/dev/shm') else None

# No access log: nginx writes one line per request, static files included (nginx.conf).
accesslog = None

# No control socket: nothing here uses it, and the image's user has no home to put it in.
control_socket_disable = True

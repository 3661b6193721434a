"""gunicorn settings, read from the working directory when bin/web starts gunicorn.

bin/web gives the address: a Unix socket that only nginx, in the same container, uses.
https://gunicorn.org/reference/settings/
"""

import gc
import os

# Two processes suit a container with one or two CPUs; raise WEB_CONCURRENCY with them.
workers = int(os.environ.get('WEB_CONCURRENCY', '2'))

# Load the app before forking: an app that cannot start stops bin/web at once, the
# socket appears only once the app is ready, and the workers share its memory.
preload_app = True


def pre_fork(server, worker):
    """Move everything the preloaded app made out of the garbage collector's reach.

    A collection writes to the header of every object it visits, so a worker's first
    collections would copy nearly every page it shares with the master. Frozen objects
    are never visited (https://docs.python.org/3/library/gc.html#gc.freeze). Measured
    with benchmarks/serve.py (Python 3.13, two workers): 119 MiB PSS after load
    without it, 94 MiB with it.
    """
    gc.freeze()


# Under nginx's proxy_read_timeout (35 s) and Convox's termination grace (45 s), so a
# slow request ends here, and a stopping container lets requests in flight finish.
timeout = 30
graceful_timeout = 30

# Workers signal they are alive through a file: keep it in memory, not on the image's
# overlay disk, where a slow write can get a healthy worker killed.
worker_tmp_dir = '/dev/shm' if os.path.isdir('/dev/shm') else None

# One line per request on stdout, starting with the client's address as nginx passes it
# on (X-Forwarded-For: from the balancer's PROXY header on 4001).
accesslog = '-'
access_log_format = '%({x-forwarded-for}i)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s"'

# No control socket: nothing here uses it, and the image's user has no home to put it in.
control_socket_disable = True

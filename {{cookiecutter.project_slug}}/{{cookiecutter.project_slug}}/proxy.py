"""What nginx in the container tells Django about each request (conf/nginx.conf).

gunicorn listens on a Unix socket only nginx can reach, so REMOTE_ADDR is empty there.
nginx sets X-Real-IP on every request, replacing whatever the client sent: the address
from the balancer's PROXY header on 4001, the one the rack's router adds on the router
port, the peer's on 4000. Django may trust it.
"""


class ClientAddressMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        client = request.META.get('HTTP_X_REAL_IP')
        if client:
            request.META['REMOTE_ADDR'] = client
        return self.get_response(request)


def client_address(request):
    """The address django-axes counts failed sign-ins by (AXES_CLIENT_IP_CALLABLE): the
    one nginx logs, which ClientAddressMiddleware, first in MIDDLEWARE, has put in
    REMOTE_ADDR."""
    return request.META.get('REMOTE_ADDR', '')

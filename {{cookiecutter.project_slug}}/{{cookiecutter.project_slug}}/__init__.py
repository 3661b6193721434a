{%- if cookiecutter.background_tasks == "celery" -%}
# Load the Celery app with Django, so that @shared_task binds to it (celery.py).
from .celery import app as celery_app

__all__ = ('celery_app',)
{% endif -%}

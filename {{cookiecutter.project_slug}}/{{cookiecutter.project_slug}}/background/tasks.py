{%- set celery = cookiecutter.background_tasks == "celery" -%}
"""The example background task: replace it with your own, and enqueue them the same way.

{% if celery -%}
Celery runs it in the worker service (convox.yml), which takes it from Redis.
{%- else -%}
The worker service (convox.yml, `manage.py db_worker`) takes it from the database.
{%- endif %}
"""

import time

{% if celery -%}
from celery import shared_task
{% elif cookiecutter.django_version != "5.2" -%}
from django.tasks import task
{% endif -%}
from django.utils import timezone
{%- if not celery and cookiecutter.django_version == "5.2" %}
from django_tasks import task
{%- endif %}

from .models import Record


{% if celery -%}
@shared_task
{%- else -%}
@task()
{%- endif %}
def record(note, seconds=0):
    """Write a Record row, wait `seconds` (a stand-in for slow work), then mark it finished.

    A worker stopped mid-task may run it again, so a real task should be safe to repeat.
    """
    row = Record.objects.create(note=note)
    time.sleep(seconds)
    row.finished_at = timezone.now()
    row.save(update_fields=['finished_at'])

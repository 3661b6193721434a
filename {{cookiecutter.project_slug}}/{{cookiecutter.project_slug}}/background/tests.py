{%- set celery = cookiecutter.background_tasks == "celery" -%}
"""The example task writes its row{% if not celery %}, and the command queues it in the database{% endif %}."""
{% if not celery %}
from io import StringIO

from django.core.management import call_command
{%- endif %}
from django.test import TestCase
{%- if not celery %}
from django_tasks_db.models import DBTaskResult
{%- endif %}

from .models import Record
from .tasks import record


class ExampleTaskTests(TestCase):
    def test_the_task_writes_a_finished_record(self):
{%- if celery %}
        record('hello')  # called, not queued: Celery runs it here
{%- else %}
        record.call('hello')  # called, not queued: runs it here
{%- endif %}
        row = Record.objects.get()
        self.assertEqual(row.note, 'hello')
        self.assertIsNotNone(row.finished_at)
{%- if not celery %}

    def test_the_command_queues_the_task_for_the_worker(self):
        out = StringIO()
        call_command('example_task', 'hello', stdout=out)
        queued = DBTaskResult.objects.get()
        self.assertEqual(queued.status, 'READY')
        self.assertIn(f"Queued 'hello' as task {queued.id}", out.getvalue())
        self.assertFalse(Record.objects.exists())
{%- endif %}

{%- set celery = cookiecutter.background_tasks == "celery" -%}
"""`python manage.py example_task NOTE`: queue the example task for the worker service."""

from django.core.management.base import BaseCommand

from ...tasks import record


class Command(BaseCommand):
    help = 'Queue the example task, which writes NOTE to the database as a Record row.'

    def add_arguments(self, parser):
        parser.add_argument('note')
        parser.add_argument('--seconds', type=float, default=0,
                            help='how long the task works before it finishes (default: 0)')

    def handle(self, *args, note, seconds, **options):
{%- if celery %}
        queued = record.delay(note, seconds)
{%- else %}
        queued = record.enqueue(note, seconds)
{%- endif %}
        self.stdout.write(f'Queued {note!r} as task {queued.id}: the worker will run it.')

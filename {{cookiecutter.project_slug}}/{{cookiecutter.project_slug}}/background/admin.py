from django.contrib import admin

from .models import Record


@admin.register(Record)
class RecordAdmin(admin.ModelAdmin):
    """The example task's rows: each one a task the worker ran."""

    list_display = ('note', 'started_at', 'finished_at')

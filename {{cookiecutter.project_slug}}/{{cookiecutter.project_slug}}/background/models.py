"""What the example task leaves behind, so that a run can be seen in the database."""

from django.db import models


class Record(models.Model):
    """One run of the example task: written as it starts, finished_at set as it ends."""

    note = models.CharField(max_length=200)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return self.note

"""The project's user model, in place before the first migrate.

Django recommends a custom user model for every new project: switching to one after the
first migrate means rewriting migrations and moving data by hand.
https://docs.djangoproject.com/en/{{ cookiecutter.django_version }}/topics/auth/customizing/#using-a-custom-user-model-when-starting-a-project
"""

from django.contrib.auth.models import AbstractUser


class User(AbstractUser):
    """Django's own user, for now. Add fields here, then run makemigrations."""

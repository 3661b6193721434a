from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from .models import User

# Django's own user pages (password form, permissions, groups) for the project's model.
admin.site.register(User, UserAdmin)

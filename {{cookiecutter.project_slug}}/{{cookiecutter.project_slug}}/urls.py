"""
URL configuration for {{ cookiecutter.project_slug }} project.

The `urlpatterns` list routes URLs to views. For more information please see:
    https://docs.djangoproject.com/en/{{ cookiecutter.django_version }}/topics/http/urls/

/health/ is not here: nginx answers it in the container (conf/nginx.conf, health.py).
Errors use templates/404.html and 500.html.
"""
from django.contrib import admin
from django.shortcuts import redirect
from django.templatetags.static import static
from django.urls import path
from django.views.generic import TemplateView

# The admin's pages carry the project's name rather than "Django administration".
admin.site.site_header = admin.site.site_title = {{ cookiecutter.project_name | pprint }}


def favicon(request):
    """Browsers ask for /favicon.ico on pages that name no icon, such as the admin's."""
    return redirect(static('{{ cookiecutter.app_name }}/favicon.ico'))


urlpatterns = [
    path('', TemplateView.as_view(template_name='home.html'), name='home'),
    path('favicon.ico', favicon),
    path('admin/', admin.site.urls),
]

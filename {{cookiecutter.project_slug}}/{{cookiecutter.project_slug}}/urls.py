"""
URL configuration for {{ cookiecutter.project_slug }} project.

The `urlpatterns` list routes URLs to views. For more information please see:
    https://docs.djangoproject.com/en/{{ cookiecutter.django_version }}/topics/http/urls/

/health/ is not here: nginx answers it in the container (conf/nginx.conf, health.py).
Errors use templates/404.html and 500.html.
"""
{%- if cookiecutter.media_storage == "local" %}
from django.conf import settings
from django.conf.urls.static import static as media
{%- endif %}
from django.contrib import admin
from django.contrib.auth import views as auth_views
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
    # The admin's "Forgotten your password?" link, which appears once admin_password_reset
    # exists; the admin's own templates render these pages and the mail.
    path('admin/password_reset/', auth_views.PasswordResetView.as_view(),
         name='admin_password_reset'),
    path('admin/password_reset/done/', auth_views.PasswordResetDoneView.as_view(),
         name='password_reset_done'),
    path('reset/<uidb64>/<token>/', auth_views.PasswordResetConfirmView.as_view(),
         name='password_reset_confirm'),
    path('reset/done/', auth_views.PasswordResetCompleteView.as_view(),
         name='password_reset_complete'),
    path('admin/', admin.site.urls),
]
{%- if cookiecutter.media_storage == "local" %}
# Uploads, while DEBUG is on (media() adds nothing when it is off; nginx never serves them).
urlpatterns += media(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
{%- endif %}

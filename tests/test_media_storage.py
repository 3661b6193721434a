"""Uploaded files: media_storage local keeps them in media/ (ignored by git and Docker);
s3 sends them to a private bucket, here on moto's S3 server started by the test. A file
saved through Django's storage API and through the admin's form is in the bucket,
downloadable through its signed URL and refused without the signature; a wrong secret key
gets a message that names what to check."""

import json
import secrets
import urllib.error
import urllib.request

import pytest
from combinations import COMBINATIONS, row_id, rows_with
from conftest import require, run
from project_files import env_example_entries
from s3_server import REGION, S3Server, moto_server

# An s3 row of each Django series, one on PostgreSQL and one on MariaDB.
S3_ROWS = [row for row in rows_with("media_storage", "s3")
           if row[:2] in {("5.2", "postgresql"), ("6.1", "mysql")}]
CONTENTS = {"api": b"saved through the storage API", "admin": b"uploaded through the admin"}

# Through the admin's add form, as a signed-in superuser: the project has no model with a
# FileField, so the script declares one (in the accounts app, its table made by the schema
# editor) before the URLconf and the admin's URLs are loaded.
SAVE = f"""
import json

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection, models
from django.test import Client


class Upload(models.Model):
    file = models.FileField()

    class Meta:
        app_label = 'accounts'


admin.site.register(Upload)
call_command('migrate', verbosity=0)
with connection.schema_editor() as editor:
    editor.create_model(Upload)
client = Client(HTTP_HOST='example.com')
client.force_login(get_user_model().objects.create_superuser('admin', 'admin@example.com', 'x'))
response = client.post('/admin/accounts/upload/add/',
                       {{'file': SimpleUploadedFile('form.txt', {CONTENTS["admin"]!r})}})
saved = [default_storage.save('notes/api.txt', ContentFile({CONTENTS["api"]!r}))
         for _ in range(2)]
upload = Upload.objects.get()
print(json.dumps({{'status': response.status_code, 'saved': saved,
                  'urls': {{'api': default_storage.url(saved[0]), 'admin': upload.file.url}}}}))
"""

SAVE_ONE = """
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

print(default_storage.save('notes/checked.txt', ContentFile(b'signed with the right key')))
"""


@pytest.fixture(scope="module")
def s3_server(tmp_path_factory):
    """moto's S3 server, and an IAM key that may use all of it: (server, key)."""
    require(moto_server(), "moto's server (pip install --group test)")
    with S3Server(tmp_path_factory.mktemp("moto") / "moto.log") as server:
        iam = server.client("iam")
        iam.create_user(UserName="app")
        key = iam.create_access_key(UserName="app")["AccessKey"]
        iam.put_user_policy(UserName="app", PolicyName="media", PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
        yield server, key


@pytest.fixture
def s3(s3_server):
    """A new, empty bucket for each test: (server, key, bucket)."""
    server, key = s3_server
    bucket = f"uploads-{secrets.token_hex(4)}"
    server.client("s3", key["AccessKeyId"], key["SecretAccessKey"]).create_bucket(
        Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    return server, key, bucket


def app_env(s3, secret=None):
    """What `convox env set` gives an app whose uploads go to the bucket."""
    server, key, bucket = s3
    return {"SECRET_KEY": secrets.token_urlsafe(50), "DEBUG": "true",
            "DATABASE_URL": "sqlite:///:memory:", "AWS_STORAGE_BUCKET_NAME": bucket,
            "AWS_S3_REGION_NAME": REGION, "AWS_S3_ENDPOINT_URL": server.url,
            "AWS_ACCESS_KEY_ID": key["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": secret or key["SecretAccessKey"]}


def status_and_body(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.mark.slow
@pytest.mark.parametrize("row", S3_ROWS, ids=map(row_id, S3_ROWS))
def test_files_saved_by_the_storage_api_and_the_admin_are_in_the_bucket_behind_signed_urls(
        row, s3, combination_projects, django_of):
    server, _, bucket = s3
    done = django_of(row).run(combination_projects[row], ["shell", "--no-imports", "-c", SAVE],
                              app_env(s3))
    shown = json.loads(done.stdout)
    assert shown["status"] == 302  # saved, back to the list
    # The same name twice: the second file gets a name of its own (file_overwrite off).
    first, second = shown["saved"]
    assert first == "notes/api.txt" and second.startswith("notes/api_") and second != first
    listed = server.client("s3").list_objects_v2(Bucket=bucket)["Contents"]
    assert {entry["Key"] for entry in listed} == {first, second, "form.txt"}
    for source, url in shown["urls"].items():
        assert url.startswith(f"{server.url}/{bucket}/")
        assert "X-Amz-Algorithm=AWS4-HMAC-SHA256" in url and "X-Amz-Signature=" in url
        assert status_and_body(url) == (200, CONTENTS[source])
        # Private: the same object without the signature is refused.
        assert status_and_body(url.split("?")[0])[0] == 403


@pytest.mark.slow
def test_a_wrong_secret_key_is_refused_with_a_message_naming_what_to_check(
        s3, combination_projects, python_of):
    server, _, bucket = s3
    row = S3_ROWS[0]
    project, python = combination_projects[row], python_of(row)
    server.check_signatures(True)
    try:
        right = run(python, "manage.py", "shell", "--no-imports", "-c", SAVE_ONE, cwd=project,
                    env=app_env(s3))
        wrong = run(python, "manage.py", "shell", "--no-imports", "-c", SAVE_ONE, cwd=project,
                    env=app_env(s3, secret="not-the-secret"), check=False)
    finally:
        server.check_signatures(False)
    assert right.stdout.strip() == "notes/checked.txt"
    assert wrong.returncode != 0
    assert wrong.stderr.rstrip().splitlines()[-1] == (
        "django.core.exceptions.ImproperlyConfigured: S3 refused access to 'notes/checked.txt'"
        f" in the bucket '{bucket}' (403): check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY,"
        " and that the key may read, write and list this bucket (README.md, \"Uploaded files\").")


@pytest.mark.slow
@pytest.mark.parametrize("row", COMBINATIONS, ids=map(row_id, COMBINATIONS))
def test_local_uploads_stay_out_of_git_and_the_image_and_s3_bakes_have_no_media_folder(
        row, combination_projects):
    project = combination_projects[row]
    local = row[4] == "local"
    settings = (project / "exampleproject" / "settings.py").read_text()
    assert ("MEDIA_ROOT = BASE_DIR / 'media'" in settings) is local
    assert ("'BACKEND': 'exampleproject.storage.MediaStorage'" in settings) is not local
    assert (project / "exampleproject" / "storage.py").exists() is not local
    assert ("\nmedia/\n" in (project / ".gitignore").read_text()) is local
    # The default bake's real build shows the line keeps uploads out (test_image.py).
    assert ("media" in (project / ".dockerignore").read_text().splitlines()) is local
    # Each AWS_* variable of an s3 bake has a line of its own saying why.
    entries = env_example_entries((project / ".env.example").read_text())
    aws = {name: reason for name, (reason, *_) in entries.items() if name.startswith("AWS_")}
    assert len(aws) == (0 if local else 5) and all(len(why.split()) >= 4 for why in aws.values())

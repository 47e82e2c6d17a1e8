"""Add, backfill and index Note.slug: slow on a big table, and serving does not need it yet."""

from django.db import migrations, models
from django.utils.text import slugify


def backfill(apps, schema_editor):
    Note = apps.get_model("deferredapp", "Note")
    for note in Note.objects.filter(slug=""):
        note.slug = slugify(note.text)
        note.save(update_fields=["slug"])


class Migration(migrations.Migration):
    deferred = True
    dependencies = [("deferredapp", "0001_initial")]

    operations = [
        migrations.AddField("note", "slug", models.CharField(max_length=200, default="", db_index=True)),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]

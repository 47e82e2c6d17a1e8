"""A deferred migration (it depends on one) that fails when the test asks it to."""

import os

from django.db import migrations


def check(apps, schema_editor):
    if os.environ.get("BREAK_DEFERRED_MIGRATION") == "1":
        raise RuntimeError("deliberately broken deferred migration")


class Migration(migrations.Migration):
    dependencies = [("deferredapp", "0002_note_slug")]

    operations = [migrations.RunPython(check, migrations.RunPython.noop)]

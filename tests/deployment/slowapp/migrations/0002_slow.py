"""Sleep inside the migration's transaction when DEPLOY_SLOW_MIGRATION says so, then record."""

import os
import time
from pathlib import Path

from django.conf import settings
from django.db import migrations


def slow_apply(apps, schema_editor):
    """Say who started (a file under VAR_DIR), sleep, then insert one row in the same transaction."""
    started = Path(settings.VAR_DIR) / "slowapp"
    started.mkdir(exist_ok=True)
    (started / f"{time.time():.3f}-{os.getpid()}.started").touch()
    time.sleep(float(os.environ.get("DEPLOY_SLOW_MIGRATION") or 0))
    apps.get_model("slowapp", "Applied").objects.create(pid=os.getpid())


class Migration(migrations.Migration):
    atomic = True
    dependencies = [("slowapp", "0001_initial")]

    operations = [migrations.RunPython(slow_apply, migrations.RunPython.noop)]

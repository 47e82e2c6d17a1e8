from django.db import migrations, models


class Migration(migrations.Migration):
    deferred = False  # serving needs it, yet it depends on a deferred migration
    dependencies = [("conflictapp", "0001_initial")]

    operations = [migrations.AddField("thing", "name", models.CharField(max_length=10, default=""))]

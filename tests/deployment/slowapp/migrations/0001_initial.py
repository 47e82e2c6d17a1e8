from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    # After the boot tables, so a run is recorded before the slow part starts.
    dependencies = [("boot", "0001_initial"), ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more")]

    operations = [
        migrations.CreateModel(
            name="Applied",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("pid", models.PositiveIntegerField()),
                ("at", models.DateTimeField(auto_now_add=True)),
            ],
        ),
    ]

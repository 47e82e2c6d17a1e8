from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    deferred = True
    dependencies = []

    operations = [
        migrations.CreateModel(
            name="Thing",
            fields=[("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False))],
        ),
    ]

"""One person per ID number in a deployment (after 0004 merged duplicates)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("people", "0004_person_memberships")]

    operations = [
        migrations.AddConstraint(
            model_name="person",
            constraint=models.UniqueConstraint(
                condition=models.Q(("id_number_hash", ""), _negated=True),
                fields=("id_type", "id_number_hash"),
                name="person_id_number_unique",
            ),
        ),
    ]

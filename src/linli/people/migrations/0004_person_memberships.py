"""Data: memberships for existing people; one row per ID number across communities."""

from django.db import migrations


def link_and_merge(apps, schema_editor):
    """Give every person a membership in each community that knows them, merging
    rows of the same ID number registered by different communities into the oldest."""
    Person = apps.get_model("people", "Person")
    Membership = apps.get_model("people", "Membership")
    Residency = apps.get_model("people", "Residency")
    PopulationChange = apps.get_model("people", "PopulationChange")
    keeper: dict[tuple[str, str], int] = {}
    for person in Person.objects.order_by("id"):
        key = (person.id_type, person.id_number_hash)
        target = keeper.setdefault(key, person.pk) if person.id_number_hash else person.pk
        Membership.objects.get_or_create(person_id=target, community_id=person.community_id)
        if target != person.pk:
            Residency.objects.filter(person_id=person.pk).update(person_id=target)
            PopulationChange.objects.filter(person_id=person.pk).update(person_id=target)
            person.delete()
    for person_id, community_id in Residency.objects.values_list("person_id", "community_id"):
        Membership.objects.get_or_create(person_id=person_id, community_id=community_id)


class Migration(migrations.Migration):
    dependencies = [("people", "0003_person_across_communities")]

    operations = [migrations.RunPython(link_and_merge, migrations.RunPython.noop)]

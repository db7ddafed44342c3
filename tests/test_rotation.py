"""``linli rotate-keys`` re-encrypts sealed columns; lookups keep working."""

from __future__ import annotations

from django.conf import settings
from django.test import override_settings

from linli.core import crypto
from linli.core.rotation import rotate_all
from linli.people.identity import ID_PURPOSE
from linli.people.models import Person
from tests.conftest import World


def test_rotation_reseals_under_the_new_key_and_keeps_lookups(world: World) -> None:
    ring = crypto.keyring()
    person = Person.objects.get(pk=world.person_a.pk)
    assert ring.key_id_of(person.id_number_sealed) == ring.active
    new_key = crypto.generate_key("k9")
    with override_settings(LINLI_DATA_KEY=f"{new_key},{settings.LINLI_DATA_KEY}"):
        counts = rotate_all()
        assert counts["people.Person"] == 2
        person.refresh_from_db()
        rotated = crypto.keyring()
        assert rotated.key_id_of(person.id_number_sealed) == "k9"
        assert crypto.unseal(person.id_number_sealed, ID_PURPOSE) == "11010519491231002X"
        assert person.id_number_hash == rotated.lookup_hash(
            "resident_id:11010519491231002X", ID_PURPOSE
        )
        assert rotate_all()["people.Person"] == 0, "a second run has nothing to do"

"""Batch face enrolment from a folder of photos named after the people, on real photos."""

from __future__ import annotations

import datetime as dt
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from linli import cli
from linli.access import actions
from linli.access.choices import CredentialKind, CredentialStatus, Modality
from linli.access.models import Credential
from linli.biometrics import batch, doors, selectors
from linli.biometrics.engines import BiometricRefused
from linli.biometrics.gallery import galleries
from linli.biometrics.models import Template
from linli.core import errors
from linli.core.models import AuditLog
from linli.core.tenancy import Actor
from linli.people.actions import do_register_person
from linli.people.models import Person
from tests import biometric_photos as photos
from tests.conftest import World
from tests.shared_data import shared


def resident_id(n: int) -> str:
    """A valid 18-digit resident ID number (GB 11643 checksum), born from 1985."""
    born = dt.date(1985, 1, 1) + dt.timedelta(days=37 * n)
    body = f"110105{born:%Y%m%d}{n % 1000:03d}"
    total = sum(int(d) * (2 ** (17 - k) % 11) for k, d in enumerate(body))
    check = (12 - total % 11) % 11
    return body + ("X" if check == 10 else str(check))


def register(system: Actor, community: Any, n: int, *, consent: bool) -> tuple[Person, str]:
    number = resident_id(n)
    person = do_register_person(system, community, name=f"住户{n}", id_number=number)
    if consent:
        actions.do_record_consent(
            system, person, community.pk, modality=Modality.FACE, text_version="v1", channel="app"
        )
    return person, number


def save(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


@pytest.fixture
def estate(world: World, system: Actor, tmp_path: Path) -> dict[str, Any]:
    """Community a's people and a folder of their photos, one of each kind of trouble."""
    galleries.forget()
    a = world.a
    actions.do_record_consent(
        system, world.person_a, a.pk, modality=Modality.FACE, text_version="v1", channel="app"
    )
    two_photos, _n = register(system, a, 1, consent=True)
    unwilling, unwilling_id = register(system, a, 2, consent=False)
    cup, _n = register(system, a, 3, consent=True)
    broken, broken_id = register(system, a, 4, consent=True)
    folder = tmp_path / "photos"
    # person_a by ID number, its check digit in lower case as people type it.
    save(folder / "11010519491231002x.jpg", photos.jpeg(photos.hopper()))
    # Two photos of one person in a sub-folder named by person id.
    save(folder / str(two_photos.pk) / "front.jpg", photos.jpeg(photos.astronaut()))
    save(
        folder / str(two_photos.pk) / "again.png",
        photos.png(photos.noisy(photos.mirrored(photos.astronaut()))),
    )
    save(folder / f"{unwilling_id}.jpg", photos.jpeg(photos.hopper()))
    save(folder / f"{cup.pk}.jpg", photos.jpeg(photos.coffee()))
    save(folder / f"{broken_id}.jpg", photos.jpeg(photos.astronaut())[:20_000])
    # Nobody of this community: a name, a person id that does not exist, the ID number of
    # community b's resident (another tenant), and a number with a wrong check digit.
    save(folder / "张三.jpg", photos.jpeg(photos.hopper()))
    save(folder / "99999999.jpg", photos.jpeg(photos.hopper()))
    save(folder / "330106198503151238.jpg", photos.jpeg(photos.hopper()))
    save(folder / "330106198503151239.jpg", photos.jpeg(photos.hopper()))
    save(folder / "名单.txt", b"not a photo")
    return {
        "folder": folder,
        "two_photos": two_photos,
        "unwilling": unwilling,
        "unwilling_id": unwilling_id,
        "cup": cup,
        "broken": broken,
        "broken_id": broken_id,
    }


@pytest.mark.parametrize("workers", [2, 0], ids=["two-worker-processes", "in-process"])
def test_a_folder_enrols_the_consenting_and_reports_everyone_else(
    world: World, system: Actor, estate: dict[str, Any], workers: int
) -> None:
    report = batch.enrol_folder(system, world.a.pk, estate["folder"], workers=workers)

    assert report.counts() == {
        "enrolled": 2,
        "no_consent": 1,
        "no_face": 1,
        "truncated_image": 1,
        "unknown_person": 4,
    }
    two = estate["two_photos"].pk
    assert sorted(report.enrolled) == sorted(
        ["11010519491231002x.jpg", f"{two}/again.png", f"{two}/front.jpg"]
    )
    assert report.refused == {
        "no_face": [f"{estate['cup'].pk}.jpg"],
        "truncated_image": [f"{estate['broken_id']}.jpg"],
    }
    assert report.no_consent == [f"{estate['unwilling_id']}.jpg"]
    assert sorted(report.unknown) == sorted(
        ["张三.jpg", "99999999.jpg", "330106198503151238.jpg", "330106198503151239.jpg"]
    )
    assert report.ignored == ["名单.txt"] and report.photos == 10

    # Templates for the two enrolled people only, each with its face credential.
    stored = dict(Template.objects.values_list("person_id", "samples"))
    assert stored == {world.person_a.pk: 1, two: 2}
    faces = Credential.objects.filter(kind=CredentialKind.FACE, status=CredentialStatus.ACTIVE)
    assert set(faces.values_list("person_id", flat=True)) == {world.person_a.pk, two}
    assert not Template.objects.filter(community=world.b).exists()

    # The door knows them now: another capture of each is identified, open set.
    match, _quality = doors.identify(world.a.pk, photos.jpeg(photos.noisy(photos.hopper())))
    assert match.person_id == world.person_a.pk
    match, _quality = doors.identify(world.a.pk, photos.jpeg(photos.noisy(photos.astronaut())))
    assert match.person_id == two

    audit = AuditLog.objects.get(action="biometrics.batch.enrol")
    assert audit.changes["enrolled"] == [None, 2] and audit.changes["no_consent"] == [None, 1]


def kill_the_first_worker(stop: threading.Event, killed: list[int]) -> None:
    """SIGKILL the first pool worker this process spawns (as the kernel's OOM killer
    would), reading /proc."""
    me = os.getpid()
    while not stop.is_set():
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
                command = (stat.parent / "cmdline").read_bytes()
            except (OSError, IndexError, ValueError):
                continue
            if ppid == me and b"spawn_main" in command:
                os.kill(int(stat.parent.name), signal.SIGKILL)
                killed.append(int(stat.parent.name))
                return
        time.sleep(0.01)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads Linux's /proc")
def test_a_worker_process_that_dies_loses_nobody(
    world: World, system: Actor, estate: dict[str, Any]
) -> None:
    stop, killed = threading.Event(), []
    watcher = threading.Thread(target=kill_the_first_worker, args=(stop, killed), daemon=True)
    watcher.start()
    try:
        report = batch.enrol_folder(system, world.a.pk, estate["folder"], workers=2)
    finally:
        stop.set()
        watcher.join()
    assert killed and report.restarts == 1
    # The photos it held were done again, one at a time: nothing lost, nothing blamed.
    assert report.counts() == {
        "enrolled": 2,
        "no_consent": 1,
        "no_face": 1,
        "truncated_image": 1,
        "unknown_person": 4,
    }
    assert Template.objects.count() == 2
    assert "worker processes lost (their photos retried): 1" in report.describe()


def test_enrolling_the_folder_again_replaces_each_template(
    world: World, system: Actor, estate: dict[str, Any]
) -> None:
    batch.enrol_folder(system, world.a.pk, estate["folder"], workers=0, progress=False)
    first = set(Template.objects.values_list("credential_id", flat=True))
    again = batch.enrol_folder(system, world.a.pk, estate["folder"], workers=0, progress=False)
    assert again.counts()["enrolled"] == 2
    assert Template.objects.count() == 2
    assert not first & set(Template.objects.values_list("credential_id", flat=True))
    replaced = Credential.objects.filter(pk__in=first)
    assert set(replaced.values_list("status", "status_reason")) == {
        (CredentialStatus.REVOKED, "replaced")
    }


def test_a_person_named_twice_is_enrolled_once_from_all_their_photos(
    world: World, system: Actor, tmp_path: Path
) -> None:
    person, number = register(system, world.a, 5, consent=True)
    save(tmp_path / f"{number}.jpg", photos.jpeg(photos.astronaut()))
    save(tmp_path / str(person.pk) / "1.jpg", photos.jpeg(photos.noisy(photos.astronaut())))
    report = batch.enrol_folder(system, world.a.pk, tmp_path, workers=0, progress=False)
    assert report.counts() == {"enrolled": 1}
    assert Template.objects.get(person=person).samples == 2


def test_photos_of_different_people_under_one_name_enrol_nobody(
    world: World, system: Actor, tmp_path: Path
) -> None:
    person, _number = register(system, world.a, 6, consent=True)
    save(tmp_path / str(person.pk) / "a.jpg", photos.jpeg(photos.astronaut()))
    save(tmp_path / str(person.pk) / "b.jpg", photos.jpeg(photos.hopper()))
    report = batch.enrol_folder(system, world.a.pk, tmp_path, workers=0, progress=False)
    assert report.refused == {"inconsistent_photos": [f"{person.pk}/a.jpg", f"{person.pk}/b.jpg"]}
    assert not Template.objects.exists()
    assert not Credential.objects.filter(kind=CredentialKind.FACE).exists()


def test_a_manager_of_another_community_cannot_enrol_here(
    world: World, estate: dict[str, Any]
) -> None:
    other = Actor.for_user(world.manager_b)
    with pytest.raises(errors.NotFound):
        batch.enrol_folder(other, world.a.pk, estate["folder"], workers=0, progress=False)
    assert not Template.objects.exists()


def test_the_command_prints_the_counts_with_id_numbers_masked(
    world: World, estate: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(
            ["biometrics", "enrol-faces", "--community", "a", "--dir", str(estate["folder"]),
             "--workers", "0", "-q"]
        )  # fmt: skip
    assert exited.value.code == 2  # some photos were not enrolled
    printed = capsys.readouterr().out
    assert "enrolled: 2" in printed
    assert "refused: 2, no_face 1, truncated_image 1" in printed
    assert "unknown person: 4" in printed and "no consent: 1" in printed
    assert f"no_consent\t{estate['unwilling_id'][:4]}**********" in printed
    assert estate["unwilling_id"] not in printed and estate["broken_id"] not in printed
    # By id as well as by code; everyone enrolled now except the same ones.
    with pytest.raises(SystemExit):
        cli.main(["biometrics", "enrol-faces", "--community", str(world.a.pk),
                  "--dir", str(estate["folder"]), "--workers", "0", "-q"])  # fmt: skip
    assert "enrolled: 2" in capsys.readouterr().out


def test_the_masking_of_file_names() -> None:
    assert batch.masked("11010519491231002X/1.jpg") == "1101**********002X/1.jpg"
    assert batch.masked("42.jpg") == "42.jpg"


def test_ten_orl_people_enrolled_by_two_workers_are_recognised_at_the_door(
    world: World, system: Actor, tmp_path: Path
) -> None:
    """Real people (the ORL faces): three photos each enrol them; a fourth is identified."""
    orl = shared("faces", "orl")
    galleries.forget()
    people: dict[str, Person] = {}
    for n in range(1, 11):
        person, number = register(system, world.a, 100 + n, consent=True)
        people[f"s{n}"] = person
        for shot in (1, 2, 3):
            link = tmp_path / number / f"{shot}.pgm"
            link.parent.mkdir(exist_ok=True)
            link.symlink_to(orl / f"s{n}" / f"{shot}.pgm")  # read in place, not copied
    report = batch.enrol_folder(system, world.a.pk, tmp_path, workers=2, progress=False)
    assert report.photos == 30 and report.workers == 2
    assert report.counts()["enrolled"] >= 9, report.describe()
    assert Template.objects.filter(samples=3).count() == report.counts()["enrolled"]
    right = wrong = 0
    for subject, person in people.items():
        probe = Image.open(orl / subject / "9.pgm").convert("RGB")
        try:
            match, _quality = doors.identify(world.a.pk, photos.jpeg(probe))
        except BiometricRefused:  # a probe the door refuses is no answer
            continue
        right += match.person_id == person.pk
        wrong += match.known and match.person_id != person.pk
    assert wrong == 0
    assert right >= 8
    assert selectors.stored_faces() == report.counts()["enrolled"]

"""Import, variants, served URLs and exports on S3-compatible object storage, by settings
alone (SeaweedFS on loopback)."""

import json
import uuid
from pathlib import Path

import boto3
import pytest
import requests
from django.core.management import call_command

from studyapp.models import Image, ImageVariant
from tests.imagefiles import write_image
from tests.object_storage import CREDENTIALS, s3_storages, seaweedfs
from tests.volunteer import Volunteer

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory) -> str:
    with seaweedfs(tmp_path_factory.mktemp("seaweedfs")) as endpoint:
        yield endpoint


@pytest.fixture
def bucket(s3_endpoint: str, settings) -> str:
    name = f"beholder-{uuid.uuid4().hex[:12]}"
    settings.STORAGES = s3_storages(s3_endpoint, name)
    return name


def test_import_stores_originals_and_variants_in_the_bucket_and_serves_them(
    client, tmp_path: Path, s3_endpoint: str, bucket: str
) -> None:
    for i in range(4):
        write_image(tmp_path / "set" / "test" / "faces" / "0_real" / f"{i}.jpg")
        write_image(tmp_path / "set" / "test" / "faces" / "1_fake" / f"{i}.png")
    call_command("import_images", str(tmp_path / "set"), "--dataset", "s3", "--generator", "sd14")

    s3 = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1", **CREDENTIALS)
    keys = {item["Key"] for item in s3.list_objects_v2(Bucket=bucket)["Contents"]}
    expected = {i.original.name for i in Image.objects.all()}
    expected |= {v.file.name for v in ImageVariant.objects.all()}
    assert keys == expected and len(keys) == 8 * 3

    call_command("create_study", "s3", "--dataset", "s3", "--trials", "4", "--sizes", "128",
                 "--practice", "0", "--attention", "0", "--live")  # fmt: skip
    volunteer = Volunteer(client, "s3")
    volunteer.start()
    url = volunteer.next()["images"][0]["url"]
    assert url.startswith(f"{s3_endpoint}/{bucket}/v/") and "Signature=" in url
    served = requests.get(url, timeout=10)
    assert served.status_code == 200 and served.content[:2] == b"\xff\xd8"
    stored = ImageVariant.objects.get(file=url.split(f"/{bucket}/")[1].split("?")[0])
    assert served.content == stored.file.read()


def test_exporting_a_labelled_set_copies_files_out_of_the_bucket(
    tmp_path: Path, bucket: str
) -> None:
    for i in range(3):
        write_image(tmp_path / "set" / "test" / "0_real" / f"{i}.jpg")
        write_image(tmp_path / "set" / "test" / "1_fake" / f"{i}.png")
    call_command("import_images", str(tmp_path / "set"), "--dataset", "s3", "--generator", "sd14")
    call_command("create_study", "s3x", "--dataset", "s3", "--trials", "2", "--sizes", "128",
                 "--practice", "0", "--attention", "0")  # fmt: skip

    out = tmp_path / "export" / "set.jsonl"
    call_command("export_labelled_set", "s3x", "--out", str(out))

    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 6
    for row in rows:
        variant = ImageVariant.objects.get(image__uuid=row["image"], size=128)
        assert (out.parent / row["path"]).read_bytes() == variant.file.read()

"""The sample set imports as both layouts it is written in, with the counts it reports."""

from collections import Counter

import pytest
from django.core.management import call_command

from studyapp.models import Image

pytestmark = pytest.mark.django_db


def test_sample_set_folder_and_manifest_import_to_the_same_images(sample_set) -> None:
    call_command("import_images", str(sample_set.out_dir), "--dataset", "sample")

    assert Image.objects.count() == sample_set.n_images >= 200
    assert Counter(Image.objects.values_list("label", flat=True)) == sample_set.by_label
    assert Counter(Image.objects.values_list("split", flat=True)) == sample_set.by_split
    fakes = Image.objects.filter(label="fake").values_list("generator__name", flat=True)
    assert Counter(fakes) == sample_set.by_generator
    assert Counter(Image.objects.values_list("category__name", flat=True)) == sample_set.by_category

    before = set(
        Image.objects.values_list("sha256", "label", "generator__name", "category__name", "split")
    )
    call_command("import_images", str(sample_set.manifest_path), "--dataset", "sample")
    after = set(
        Image.objects.values_list("sha256", "label", "generator__name", "category__name", "split")
    )
    assert after == before

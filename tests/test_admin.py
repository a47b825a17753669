"""Researchers' admin: lists with filters, search, thumbnails and computed counts."""

from pathlib import Path

import pytest

from studyapp.import_sources import Defaults
from studyapp.models import Image
from studyapp.services.imports import images_import
from tests.imagefiles import write_image

pytestmark = pytest.mark.django_db


@pytest.fixture
def image_set(tmp_path: Path) -> None:
    for i in range(3):
        write_image(tmp_path / "set" / "cats" / "0_real" / f"{i}.jpg")
        write_image(tmp_path / "set" / "cats" / "1_fake" / f"{i}.png")
    write_image(tmp_path / "set" / "dogs" / "1_fake" / "x.png")
    images_import(source=tmp_path / "set", dataset_name="pets", defaults=Defaults(generator="sd14"))
    write_image(tmp_path / "more" / "dogs" / "1_fake" / "y.png")
    images_import(source=tmp_path / "more", dataset_name="more", defaults=Defaults(generator="gan"))


def test_image_list_filters_searches_and_shows_variant_thumbnails(admin_client, image_set) -> None:
    page = admin_client.get("/admin/studyapp/image/")
    assert page.status_code == 200
    html = page.content.decode()
    assert html.count('<img src="/media/v/') == 8
    for filter_title in ("dataset", "label", "generator", "category", "split"):
        assert f'data-filter-title="{filter_title}"' in html

    cats = Image.objects.filter(category__name="cats").first().category
    fakes = admin_client.get(
        "/admin/studyapp/image/", {"label": "fake", "category__id__exact": cats.pk}
    )
    assert fakes.content.decode().count('<img src="/media/v/') == 3

    one = Image.objects.first()
    found = admin_client.get("/admin/studyapp/image/", {"q": one.sha256})
    assert found.content.decode().count('<img src="/media/v/') == 1


def test_dataset_list_counts_real_and_generated_images(admin_client, image_set) -> None:
    html = admin_client.get("/admin/studyapp/dataset/", {"q": "pets"}).content.decode()
    assert '<td class="field-n_images">7</td>' in html
    assert '<td class="field-n_real">3</td>' in html
    assert '<td class="field-n_fake">4</td>' in html


def test_image_detail_shows_its_variants(admin_client, image_set) -> None:
    image = Image.objects.first()
    page = admin_client.get(f"/admin/studyapp/image/{image.pk}/change/")
    assert page.status_code == 200
    for variant in image.variants.all():
        assert variant.file.url in page.content.decode()


def test_variant_files_are_served_without_revealing_headers(client, image_set) -> None:
    variant = Image.objects.first().variants.first()
    response = client.get(variant.file.url)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert "Last-Modified" not in response and "Content-Disposition" not in response
    assert b"".join(response.streaming_content) == variant.file.open("rb").read()


def test_originals_are_not_served(client, image_set) -> None:
    image = Image.objects.first()
    assert client.get(f"/media/{image.original.name}").status_code == 404
    assert client.get("/media/v/../" + image.original.name).status_code == 404


def test_admin_is_never_anonymous(client) -> None:
    response = client.get("/admin/studyapp/image/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]

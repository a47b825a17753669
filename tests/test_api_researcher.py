"""The researcher API: who may read what, the documented fields, filters and cursor pagination."""

import json

import pytest
from rest_framework.test import APIClient

from studyapp.api.researcher.serializers import LabelledSetRowSerializer, ResponseRowSerializer
from studyapp.selectors.exports import LABELLED_SET_FIELDS, RESPONSE_FIELDS
from tests.export_fixtures import single_mode_study, token_client, user
from tests.factories import (
    CategoryFactory,
    DatasetFactory,
    GeneratorFactory,
    ImageFactory,
    StudyFactory,
)

pytestmark = pytest.mark.django_db

SLUG = "faces-study"
STUDY_ENDPOINTS = [
    f"/api/v1/studies/{SLUG}/",
    f"/api/v1/studies/{SLUG}/labelled-set",
    f"/api/v1/studies/{SLUG}/labelled-set?format=csv",
    f"/api/v1/studies/{SLUG}/labelled-set?format=jsonl",
    f"/api/v1/studies/{SLUG}/responses",
    f"/api/v1/studies/{SLUG}/responses?format=csv",
    f"/api/v1/studies/{SLUG}/responses?format=jsonl",
]
EVERY_ENDPOINT = ["/api/v1/studies/", "/api/v1/images/", *STUDY_ENDPOINTS]

STUDY_FIELDS = {
    "slug", "title", "status", "mode", "datasets", "generators", "categories", "split",
    "display_sizes", "trials_per_participant", "practice_trials", "attention_checks",
    "max_attention_failures", "real_fraction", "exposure_ms", "confidence_scale",
    "target_responses_per_image", "max_participants", "seed", "created", "updated",
    "n_participants", "n_responses", "labelled_set", "responses",
}  # fmt: skip
IMAGE_FIELDS = {
    "uuid", "dataset", "label", "generator", "category", "split", "sha256", "width", "height",
    "format", "bytes", "prompt", "source_path", "metadata", "attention_check", "created",
    "variants",
}  # fmt: skip


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.fixture
def scenario():
    return single_mode_study()


def test_anonymous_requests_are_refused_everywhere(scenario) -> None:
    for url in EVERY_ENDPOINT:
        response = APIClient().get(url)

        assert response.status_code == 401, url
        assert response["Content-Type"] == "application/json", url  # errors are always JSON
        assert SLUG.encode() not in body(response) and b"sha256" not in body(response)


def test_a_bad_or_inactive_users_token_is_refused(scenario) -> None:
    account = user("sleeper", staff=True)
    client = token_client(account)
    account.is_active = False
    account.save()
    forged = APIClient()
    forged.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)

    for url in EVERY_ENDPOINT:
        assert client.get(url).status_code == 401, url
        assert forged.get(url).status_code == 401, url


def test_a_token_without_permission_on_the_study_gets_404(scenario) -> None:
    outsider = token_client(user("outsider"))

    for url in STUDY_ENDPOINTS:
        response = outsider.get(url)

        assert response.status_code == 404, url
        assert SLUG.encode() not in body(response)


def test_an_outsider_lists_no_studies_and_no_images(scenario) -> None:
    outsider = token_client(user("outsider"))

    assert outsider.get("/api/v1/studies/").json()["results"] == []
    assert outsider.get("/api/v1/images/").status_code == 403
    image = scenario.images["fake_a"]
    assert outsider.get(f"/api/v1/images/{image.uuid}/").status_code == 403


def test_a_researcher_of_the_study_reads_it_and_no_other(scenario) -> None:
    researcher = user("researcher")
    scenario.study.researchers.add(researcher)
    StudyFactory(slug="someone-elses")

    for url in STUDY_ENDPOINTS:
        assert token_client(researcher).get(url).status_code == 200, url
        other = url.replace(SLUG, "someone-elses")
        assert token_client(researcher).get(other).status_code == 404, other
    assert token_client(researcher).get("/api/v1/images/").status_code == 403
    listed = token_client(researcher).get("/api/v1/studies/").json()["results"]
    assert [study["slug"] for study in listed] == [SLUG]


def test_staff_read_everything_by_token_and_by_session(scenario) -> None:
    staff = user("staff", staff=True)
    session = APIClient()
    session.force_login(staff)

    for url in EVERY_ENDPOINT:
        assert token_client(staff).get(url).status_code == 200, url
        assert session.get(url).status_code == 200, url


def test_studies_carry_the_documented_fields(scenario) -> None:
    client = token_client(user("staff", staff=True))

    listed = client.get("/api/v1/studies/").json()
    one = client.get(f"/api/v1/studies/{SLUG}/").json()

    assert listed["results"] == [one]
    assert set(one) == STUDY_FIELDS
    assert one["datasets"] == ["faces-v1"] and one["display_sizes"] == [256, 512]
    assert (one["n_participants"], one["n_responses"]) == (4, 12)  # the simulated one left out
    assert one["labelled_set"] == f"http://testserver/api/v1/studies/{SLUG}/labelled-set"
    assert client.get(one["labelled_set"]).status_code == 200
    assert client.get(one["responses"]).status_code == 200


def test_exports_carry_the_documented_fields(scenario) -> None:
    client = token_client(user("staff", staff=True))

    labelled = client.get(f"/api/v1/studies/{SLUG}/labelled-set?format=json")
    responses = client.get(f"/api/v1/studies/{SLUG}/responses?format=json")

    rows = json.loads(body(labelled))
    assert rows and all(list(row) == list(LABELLED_SET_FIELDS) for row in rows)
    assert set(LabelledSetRowSerializer().fields) == set(LABELLED_SET_FIELDS)
    assert labelled["Content-Disposition"] == f'attachment; filename="{SLUG}-labelled-set.json"'
    assert rows[0]["url"].startswith("http://testserver/media/v/")
    assert client.get(rows[0]["url"]).status_code == 200  # the variant itself, served
    answered = json.loads(body(responses))
    assert answered and all(list(row) == list(RESPONSE_FIELDS) for row in answered)
    assert set(ResponseRowSerializer().fields) == set(RESPONSE_FIELDS)


def test_an_unknown_format_or_parameter_is_a_400_in_json(scenario) -> None:
    client = token_client(user("staff", staff=True))

    unknown = client.get(f"/api/v1/studies/{SLUG}/labelled-set?format=xml")
    bad_flag = client.get(f"/api/v1/studies/{SLUG}/responses?include_simulated=maybe")
    bad_size = client.get(f"/api/v1/studies/{SLUG}/labelled-set?size=-1&format=csv")

    assert unknown.status_code == 400 and "json, jsonl, csv" in unknown.json()["format"][0]
    assert bad_flag.status_code == 400 and "include_simulated" in bad_flag.json()
    assert bad_size.status_code == 400 and bad_size["Content-Type"] == "application/json"


def test_the_format_parameter_wins_over_the_accept_header(scenario) -> None:
    client = token_client(user("staff", staff=True))

    response = client.get(
        f"/api/v1/studies/{SLUG}/labelled-set?format=csv", HTTP_ACCEPT="text/html"
    )
    by_accept = client.get(f"/api/v1/studies/{SLUG}/labelled-set", HTTP_ACCEPT="text/csv")

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert by_accept["Content-Type"] == "text/csv; charset=utf-8"


def test_images_carry_the_documented_fields(scenario) -> None:
    client = token_client(user("staff", staff=True))
    image = scenario.images["fake_a"]

    one = client.get(f"/api/v1/images/{image.uuid}/").json()

    assert set(one) == IMAGE_FIELDS
    assert (one["uuid"], one["label"], one["generator"], one["category"]) == (
        str(image.uuid), "fake", "sd14", "faces",
    )  # fmt: skip
    assert [variant["size"] for variant in one["variants"]] == [256, 512]
    for variant in one["variants"]:
        assert variant["url"].startswith("http://testserver/media/v/")
        assert client.get(variant["url"]).status_code == 200
    assert str(image.pk) not in {str(v) for v in one.values()}
    assert client.get("/api/v1/images/00000000-0000-0000-0000-000000000000/").status_code == 404


@pytest.fixture
def catalogue():
    """Images across two datasets, two generators, two categories, three splits, two sizes."""
    mine, theirs = DatasetFactory(name="mine"), DatasetFactory(name="theirs")
    sd, gan = GeneratorFactory(name="sd14"), GeneratorFactory(name="progan")
    faces, cats = CategoryFactory(name="faces"), CategoryFactory(name="cats")
    images = {}
    for n in range(12):
        fake = n % 3 != 0
        images[n] = ImageFactory(
            dataset=mine if n < 8 else theirs,
            label="fake" if fake else "real",
            generator=(sd if n % 2 else gan) if fake else None,
            category=faces if n % 4 < 2 else cats,
            split=("train", "val", "test")[n % 3],
            sizes=[256] if n < 6 else [256, 512],
        )
    return images


def _uuids(client, query: str) -> set[str]:
    response = client.get(f"/api/v1/images/?{query}")
    assert response.status_code == 200, response.content
    return {image["uuid"] for image in response.json()["results"]}


@pytest.mark.parametrize(
    "query, wanted",
    [
        ("dataset=mine", lambda n, i: n < 8),
        ("label=real", lambda n, i: i.label == "real"),
        ("generator=sd14", lambda n, i: i.generator_id and i.generator.name == "sd14"),
        ("category=cats", lambda n, i: i.category.name == "cats"),
        ("split=val", lambda n, i: i.split == "val"),
        ("size=512", lambda n, i: n >= 6),
        ("dataset=mine&label=fake&size=512", lambda n, i: 6 <= n < 8 and i.label == "fake"),
    ],
)
def test_image_filters(catalogue, query: str, wanted) -> None:
    client = token_client(user("staff", staff=True))

    expected = {str(image.uuid) for n, image in catalogue.items() if wanted(n, image)}

    assert expected and _uuids(client, query) == expected


def test_image_filters_by_sha256_and_reject_unknown_choices(catalogue) -> None:
    client = token_client(user("staff", staff=True))
    image = catalogue[5]

    assert _uuids(client, f"sha256={image.sha256}") == {str(image.uuid)}
    assert client.get("/api/v1/images/?label=synthetic").status_code == 400
    assert client.get("/api/v1/images/?size=big").status_code == 400


def test_cursor_pagination_walks_every_image_once(catalogue) -> None:
    client = token_client(user("staff", staff=True))
    seen, url, pages = [], "/api/v1/images/?page_size=5&label=fake", 0

    while url:
        page = client.get(url).json()
        seen += [image["uuid"] for image in page["results"]]
        url, pages = page["next"], pages + 1

    fakes = {str(image.uuid) for image in catalogue.values() if image.label == "fake"}
    assert pages == 2 and len(seen) == len(fakes) == 8 and set(seen) == fakes
    assert seen == sorted(seen)  # ordered by uuid, never by the internal pk
    assert client.get("/api/v1/images/?cursor=not-a-cursor").status_code == 404


def test_cursor_pagination_of_studies(scenario) -> None:
    for n in range(4):
        StudyFactory(slug=f"extra-{n}")
    client = token_client(user("staff", staff=True))

    first = client.get("/api/v1/studies/?page_size=3").json()
    second = client.get(first["next"]).json()

    slugs = [s["slug"] for s in first["results"] + second["results"]]
    assert slugs == sorted(["extra-0", "extra-1", "extra-2", "extra-3", SLUG])
    assert second["next"] is None and second["previous"]

"""Nothing a participant receives before answering tells real from generated (DESIGN §6)."""

import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from PIL import Image as PILImage

from studyapp.models import Participant
from tests.imagefiles import jpeg_segments, write_image
from tests.volunteer import Volunteer

pytestmark = pytest.mark.django_db

GENERATORS = ["stylegan3", "midjourney"]
FAKE_CATEGORIES = ["portraits", "landscapes"]


@pytest.fixture
def study_slug(tmp_path: Path) -> str:
    root = tmp_path / "set" / "test"
    for generator in GENERATORS:
        for category in FAKE_CATEGORIES:
            for i in range(3):
                write_image(root / generator / category / "0_real" / f"camera_{generator}_{i}.jpg")
                write_image(
                    root / generator / category / "1_fake" / f"{generator}_{category}_{i}.png",
                    png_text={"parameters": f"{generator} seed {i}"},
                )
    call_command("import_images", str(tmp_path / "set"), "--dataset", "leaky")
    call_command(
        "create_study", "look", "--dataset", "leaky", "--trials", "12", "--sizes", "128,256",
        "--practice", "0", "--attention", "0", "--live",
    )  # fmt: skip
    return "look"


def forbidden_words() -> list[str]:
    from studyapp.models import Image

    words = ["real", "fake", "label", "generator", "category", *GENERATORS, *FAKE_CATEGORIES]
    words += [Path(p).stem for p in Image.objects.values_list("source_path", flat=True)]
    return words


def test_json_urls_and_image_bytes_carry_no_label(client, study_slug: str) -> None:
    volunteer = Volunteer(client, study_slug)
    started = volunteer.start()
    words = forbidden_words()
    encodings: dict[int, set] = {}
    while True:
        payload = volunteer.next()
        if payload.get("done"):
            break
        text = json.dumps(payload).lower()
        for word in words:
            assert word.lower() not in text, f"{word!r} in {text}"
        for image in payload["images"]:
            response = client.get(image["url"])
            assert response.status_code == 200
            data = b"".join(response.streaming_content)
            assert response["Content-Type"] == "image/jpeg"
            assert {"Last-Modified", "ETag", "Content-Disposition"}.isdisjoint(response.headers)
            assert not {0xE1, 0xE2, 0xED, 0xFE} & set(
                jpeg_segments(data)
            )  # EXIF/XMP, ICC, IPTC, comment
            decoded = PILImage.open(io.BytesIO(data))
            encodings.setdefault(payload["size"], set()).add((decoded.format, decoded.mode))
            for word in words:
                assert word.encode() not in data
        answer = volunteer.right_answer(payload["trial"])
        assert volunteer.answer(payload["trial"], answer).status_code == 201
    assert started["n_trials"] == 12
    assert all(len(kinds) == 1 for kinds in encodings.values())


def test_the_page_is_the_same_whatever_the_images(client, study_slug: str) -> None:
    first = client.get(f"/s/{study_slug}/").content
    alice, bob = Volunteer(client, study_slug), Volunteer(client, study_slug)
    alice.start()
    bob.start()
    labels = {p.trials.get(index=0).image.label for p in Participant.objects.all()}
    assert client.get(f"/s/{study_slug}/").content == first
    html = first.decode().lower()
    for word in forbidden_words():
        if word in ("real", "fake", "label", "generator", "category"):
            continue  # generic words of the buttons and texts ("Real photo", "AI generators")
        assert word.lower() not in html, word
    assert "data-label" not in html and labels  # the page carries no per-trial data at all

"""import_images (DESIGN §3): layouts, counts, idempotence, rejections and atomic storage."""

import json
from collections import Counter
from pathlib import Path

import pytest
from django.core.management import call_command

from studyapp.models import Image, ImageVariant
from tests.imagefiles import write_image, write_png_header_only

pytestmark = pytest.mark.django_db

# generator -> category -> (n_real, n_fake) for a CNNDetection test-set layout
LAYOUT = {
    "progan": {"airplane": (30, 28), "cat": (25, 27)},
    "stylegan2": {"airplane": (26, 24), "cat": (22, 23)},
}


def run_import(*args: str) -> tuple[int, str, str]:
    """Runs the command as a user would; returns (exit status, stdout, stderr)."""
    from io import StringIO

    out, err = StringIO(), StringIO()
    try:
        call_command("import_images", *args, stdout=out, stderr=err)
        status = 0
    except SystemExit as exc:
        status = exc.code
    return status, out.getvalue(), err.getvalue()


def stored_files(media_root: Path) -> list[Path]:
    return [p for p in media_root.rglob("*") if p.is_file()]


@pytest.fixture
def cnndetection_folder(tmp_path: Path) -> Path:
    root = tmp_path / "cnndetection"
    for generator, categories in LAYOUT.items():
        for category, (n_real, n_fake) in categories.items():
            for i in range(n_real):
                write_image(root / "test" / generator / category / "0_real" / f"{i:03}.jpg")
            for i in range(n_fake):
                write_image(root / "test" / generator / category / "1_fake" / f"{i:03}.png")
    return root


def test_cnndetection_folder_imports_with_exact_counts_and_reimport_is_a_no_op(
    cnndetection_folder: Path, media_root: Path
) -> None:
    total = sum(r + f for cats in LAYOUT.values() for r, f in cats.values())
    assert total >= 200

    status, out, err = run_import(str(cnndetection_folder), "--dataset", "cnn")

    assert status == 0, err
    assert f"imported {total}, duplicates 0, rejected 0" in out
    counts = Counter(
        Image.objects.values_list("label", "generator__name", "category__name", "split")
    )
    expected = Counter()
    for generator, categories in LAYOUT.items():
        for category, (n_real, n_fake) in categories.items():
            expected["real", None, category, "test"] += n_real
            expected["fake", generator, category, "test"] += n_fake
    assert counts == expected
    assert ImageVariant.objects.count() == 2 * total  # two display sizes in tests
    files_before = sorted(stored_files(media_root))
    assert len(files_before) == 3 * total  # original + two variants each

    status, out, _ = run_import(str(cnndetection_folder), "--dataset", "cnn")

    assert status == 0
    assert f"imported 0, duplicates {total}, rejected 0" in out
    assert Image.objects.count() == total
    assert sorted(stored_files(media_root)) == files_before


def test_jsonl_manifest_imports_with_its_fields(tmp_path: Path) -> None:
    root = tmp_path / "laion"
    write_image(root / "img" / "a.jpg")
    write_image(root / "img" / "b.png")
    write_image(root / "img" / "c.webp")
    lines = [
        {"path": "img/a.jpg", "label": "real", "category": "people", "source": "laion/123"},
        {
            "path": "img/b.png",
            "label": "fake",
            "generator": "sd14",
            "prompt": "a cat",
            "split": "test",
        },
        {"path": "img/c.webp", "label": "fake", "category": "animals"},
    ]
    manifest = root / "manifest.jsonl"
    manifest.write_text("\n".join(json.dumps(line) for line in lines) + "\n\n")

    status, _, err = run_import(
        str(manifest), "--dataset", "laion", "--split", "train", "--generator", "sdxl"
    )

    assert status == 0, err
    a, b, c = (Image.objects.get(source_path=p) for p in ("laion/123", "img/b.png", "img/c.webp"))
    assert (a.label, a.generator, a.category.name, a.split, a.format) == (
        "real",
        None,
        "people",
        "train",
        "JPEG",
    )
    assert (b.generator.name, b.prompt, b.split, b.format) == ("sd14", "a cat", "test", "PNG")
    # --generator fills in only where the line names none
    assert (c.generator.name, c.category.name, c.format) == ("sdxl", "animals", "WEBP")


def test_genimage_folder_imports(tmp_path: Path) -> None:
    root = tmp_path / "genimage"
    for generator in ("imagenet_ai_0419_sdv4", "imagenet_midjourney"):
        for split in ("train", "val"):
            for i in range(3):
                write_image(root / generator / split / "ai" / f"{i}.png")
                write_image(root / generator / split / "nature" / f"{i}.JPEG", fmt="JPEG")

    status, _, err = run_import(str(root), "--dataset", "genimage")

    assert status == 0, err
    counts = Counter(Image.objects.values_list("label", "generator__name", "split"))
    assert counts == {
        ("fake", "imagenet_ai_0419_sdv4", "train"): 3,
        ("fake", "imagenet_ai_0419_sdv4", "val"): 3,
        ("fake", "imagenet_midjourney", "train"): 3,
        ("fake", "imagenet_midjourney", "val"): 3,
        ("real", None, "train"): 6,
        ("real", None, "val"): 6,
    }


def test_bad_files_and_lines_are_rejected_by_name_and_the_good_ones_import(
    tmp_path: Path, media_root: Path
) -> None:
    root = tmp_path / "mixed"
    write_image(root / "good1.jpg")
    write_image(root / "good2.png")
    good_jpeg = write_image(tmp_path / "scratch.jpg", size=(256, 256)).read_bytes()
    (root / "corrupt.jpg").write_bytes(good_jpeg[:600] + bytes(range(256)) * 40 + good_jpeg[-2:])
    good_png = write_image(tmp_path / "scratch.png", size=(256, 256)).read_bytes()
    (root / "truncated.png").write_bytes(good_png[: len(good_png) // 2])
    (root / "empty.jpg").write_bytes(b"")
    (root / "notes.png").write_text("this is a text file, not a picture\n")
    write_png_header_only(root / "bomb.png", 20000, 20000)
    names = [
        "good1.jpg",
        "good2.png",
        "corrupt.jpg",
        "truncated.png",
        "empty.jpg",
        "notes.png",
        "bomb.png",
    ]
    lines = [json.dumps({"path": name, "label": "fake", "generator": "g"}) for name in names]
    lines.append(json.dumps({"path": "../../etc/passwd", "label": "real"}))
    lines.append('{"path": "good1.jpg", "label": ')
    lines.append(json.dumps({"path": "good1.jpg", "label": "synthetic"}))
    manifest = root / "manifest.jsonl"
    manifest.write_text("\n".join(lines) + "\n")

    status, out, err = run_import(str(manifest), "--dataset", "mixed")

    assert status == 1
    assert "imported 2, duplicates 0, rejected 8" in out
    rejected = dict(
        line.split(": ", 1) for line in err.splitlines() if line.startswith("rejected ")
    )
    assert "corrupt or truncated" in rejected["rejected manifest.jsonl line 3 (corrupt.jpg)"]
    assert "corrupt or truncated" in rejected["rejected manifest.jsonl line 4 (truncated.png)"]
    assert "empty file" in rejected["rejected manifest.jsonl line 5 (empty.jpg)"]
    assert "not an image" in rejected["rejected manifest.jsonl line 6 (notes.png)"]
    assert "decompression bomb" in rejected["rejected manifest.jsonl line 7 (bomb.png)"]
    assert "outside the manifest's folder" in rejected["rejected manifest.jsonl line 8"]
    assert "malformed JSON" in rejected["rejected manifest.jsonl line 9"]
    assert "unknown label 'synthetic'" in rejected["rejected manifest.jsonl line 10"]
    assert sorted(Image.objects.values_list("source_path", flat=True)) == ["good1.jpg", "good2.png"]
    assert len(stored_files(media_root)) == 2 * 3  # nothing half-written for the rejects


def test_a_folder_import_names_each_rejected_file(tmp_path: Path) -> None:
    root = tmp_path / "cnn"
    write_image(root / "0_real" / "ok.jpg")
    write_image(root / "1_fake" / "ok.png")
    (root / "1_fake" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")

    status, out, err = run_import(str(root), "--dataset", "d", "--generator", "g")

    assert status == 1
    assert "imported 2, duplicates 0, rejected 1" in out
    assert "rejected 1_fake/broken.png: " in err


def test_an_unreadable_source_is_a_clear_error(tmp_path: Path) -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="does not exist"):
        call_command("import_images", str(tmp_path / "missing"), "--dataset", "d")
    (tmp_path / "plain").mkdir()
    with pytest.raises(CommandError, match="not a JSONL manifest"):
        call_command("import_images", str(tmp_path / "plain"), "--dataset", "d")

"""The shortcut audit flags file-level cues and is quiet on normalised variants."""

import io

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from analysis.shortcut import estimate_jpeg_quality, facts_from_files, shortcut_audit

N_PER_LABEL = 24


def _picture(rng: np.random.Generator, width: int, height: int) -> Image.Image:
    """A smooth random picture (gradient plus blobs), so encoders behave as on photos."""
    y, x = np.mgrid[0:height, 0:width] / max(width, height)
    channels = []
    for _ in range(3):
        f = rng.uniform(1, 6, 2)
        channels.append(np.sin(f[0] * x * 6 + rng.uniform(0, 6)) + np.cos(f[1] * y * 6))
    pixels = (np.stack(channels, -1) + 2) / 4 * 255 + rng.normal(0, 6, (height, width, 3))
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def _originals(tmp_path, rng) -> pd.DataFrame:
    """Real photos as JPEG, generated images as PNG: the classic shortcut."""
    rows = []
    for k in range(2 * N_PER_LABEL):
        fake = k % 2 == 1
        width, height = int(rng.choice([320, 384, 448])), int(rng.choice([256, 320]))
        path = tmp_path / f"orig-{k}.{'png' if fake else 'jpg'}"
        _picture(rng, width, height).save(path, **({"format": "PNG"} if fake else {"quality": 85}))
        rows.append({"label": "fake" if fake else "real", "path": str(path)})
    return pd.DataFrame(rows)


def _variant(source: str, target, size: int) -> None:
    """What the import does to every image (studyapp.imaging.render_variant): RGB, long side
    scaled to the display size with Lanczos, re-encoded as JPEG at one quality, no metadata."""
    with Image.open(source) as image:
        image = image.convert("RGB")
        scale = size / max(image.size)
        resized = image.resize(
            (max(1, round(image.width * scale)), max(1, round(image.height * scale))),
            Image.Resampling.LANCZOS,
        )
        resized.save(target, format="JPEG", quality=90, subsampling="4:2:0")


def test_jpeg_quality_estimate_recovers_the_encoder_setting():
    image = _picture(np.random.default_rng(0), 64, 64)
    for quality in (40, 75, 90, 95):
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=quality)
        with Image.open(buffer) as decoded:
            assert estimate_jpeg_quality(decoded) == quality
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    with Image.open(buffer) as decoded:
        assert np.isnan(estimate_jpeg_quality(decoded))


def test_flags_real_jpeg_vs_fake_png_and_not_the_normalised_variants(tmp_path):
    rng = np.random.default_rng(1)
    originals = _originals(tmp_path, rng)
    facts = facts_from_files(originals["path"]).assign(label=originals["label"])
    assert set(facts.loc[originals["label"] == "real", "format"]) == {"JPEG"}
    audit = shortcut_audit(facts, source="originals")
    assert audit.flagged
    assert audit.auc == pytest.approx(1.0, abs=0.02)
    assert "FLAGGED" in audit.summary()

    variants = []
    for k, path in enumerate(originals["path"]):
        target = tmp_path / f"variant-{k}.jpg"
        _variant(path, target, 256)
        variants.append(str(target))
    shown = facts_from_files(pd.Series(variants)).assign(label=originals["label"])
    assert set(shown["format"]) == {"JPEG"} and set(shown["jpeg_quality"]) == {90.0}
    normalised = shortcut_audit(shown, source="variants")
    assert not normalised.flagged, normalised.summary()
    assert normalised.auc < 0.6


def test_audit_from_export_columns_without_files():
    rng = np.random.default_rng(3)
    n = 60
    label = np.where(np.arange(n) % 2 == 0, "real", "fake")
    facts = pd.DataFrame(
        {
            "label": label,
            "format": "JPEG",
            "width": rng.choice([512, 768], n),
            "height": rng.choice([512, 768], n),
        }
    )
    facts["bytes"] = (facts["width"] * facts["height"] * rng.uniform(0.3, 0.6, n)).astype(int)
    audit = shortcut_audit(facts)
    assert audit.facts == ("format", "bytes_per_pixel", "width", "height")
    assert not audit.flagged
    facts.loc[label == "fake", "bytes"] *= 3  # generated files three times as large per pixel
    assert shortcut_audit(facts).flagged


def test_audit_needs_both_labels():
    facts = pd.DataFrame(
        {"label": ["real"] * 5, "format": "JPEG", "width": 10, "height": 10, "bytes": 100}
    )
    audit = shortcut_audit(facts)
    assert np.isnan(audit.auc) and not audit.flagged
    assert "not computed" in audit.summary()

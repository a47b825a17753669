import io

import numpy as np
import pytest
import torch
from PIL import Image

from detector.recipes import DataSpec
from detector.transforms import eval_transform, train_transform
from detector.variants import display_variant

MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


@pytest.fixture
def photo() -> Image.Image:
    rng = np.random.default_rng(0)
    return Image.fromarray(rng.integers(0, 256, (300, 400, 3), dtype=np.uint8))


@pytest.mark.parametrize("recipe", ["laion", "cnndetection"])
def test_training_crops_are_random_but_replayable_from_the_seed(photo, recipe):
    spec = DataSpec(transforms=recipe, resize=256, crop=224, blur_jpeg_prob=0.5)
    transform = train_transform(spec, MEAN, STD)
    torch.manual_seed(7)
    first = transform(photo)
    second = transform(photo)
    torch.manual_seed(7)
    again = transform(photo)
    assert first.shape == (3, 224, 224) and first.dtype == torch.float32
    assert torch.equal(first, again) and not torch.equal(first, second)


def test_laion_evaluation_resizes_then_centre_crops(photo):
    spec = DataSpec(transforms="laion", resize=256, crop=224)
    out = eval_transform(spec, (0, 0, 0), (1, 1, 1))(photo)
    expected = photo.resize((341, 256), Image.Resampling.BICUBIC)  # shorter side 300 -> 256
    left, top = (341 - 224) // 2, (256 - 224) // 2
    reference = np.asarray(expected.crop((left, top, left + 224, top + 224))) / 255
    assert out.shape == (3, 224, 224)
    # torchvision's and Pillow's bicubic filters differ slightly; the geometry must not
    assert np.abs(out.permute(1, 2, 0).numpy() - reference).mean() < 0.03


def test_cnndetection_evaluation_keeps_the_native_pixels(photo):
    spec = DataSpec(transforms="cnndetection", resize=256, crop=224)
    out = eval_transform(spec, (0, 0, 0), (1, 1, 1))(photo)
    left, top = (400 - 224) // 2, (300 - 224) // 2
    native = np.asarray(photo.crop((left, top, left + 224, top + 224))) / 255
    np.testing.assert_allclose(out.permute(1, 2, 0).numpy(), native, atol=1e-6)


def test_eval_resize_makes_any_input_size_look_alike(photo):
    spec = DataSpec(transforms="cnndetection", resize=64, eval_resize=True, crop=64)
    transform = eval_transform(spec, (0, 0, 0), (1, 1, 1))
    small = transform(photo.resize((128, 96), Image.Resampling.BICUBIC))
    large = transform(photo.resize((512, 384), Image.Resampling.BICUBIC))
    assert small.shape == large.shape == (3, 64, 64)
    # both are the photo at 85x64, centre-cropped: close, whatever size they came in at
    assert (small - large).abs().mean() < 0.05


def test_cnndetection_blur_and_jpeg_change_pixels_only_when_drawn(photo):
    square = photo.crop((0, 0, 300, 300))  # a 300 px crop of it can only be flipped or not

    def augmented(p: float) -> np.ndarray:
        spec = DataSpec(transforms="cnndetection", resize=0, crop=300, blur_jpeg_prob=p)
        torch.manual_seed(0)
        out = train_transform(spec, (0, 0, 0), (1, 1, 1))(square)
        return (out.permute(1, 2, 0).numpy() * 255).round()

    original = np.asarray(square).astype(float)
    assert any(np.array_equal(augmented(0.0), o) for o in (original, original[:, ::-1]))
    assert min(np.abs(augmented(1.0) - o).mean() for o in (original, original[:, ::-1])) > 10


def test_display_variant_is_a_bicubic_resize_then_jpeg_90(photo):
    variant = display_variant(photo, 200)
    assert variant.size == (200, 150)
    resized = photo.resize((200, 150), Image.Resampling.BICUBIC, reducing_gap=2.0)
    buffer = io.BytesIO()
    resized.save(buffer, format="JPEG", quality=90, subsampling="4:2:0")
    assert np.array_equal(np.asarray(variant), np.asarray(Image.open(buffer).convert("RGB")))

"""Build the small sample image set that the demo and the tests use.

Real images are crops of photographs shipped inside installed wheels (scikit-image, scikit-learn,
matplotlib). Generated images come from one real neural generator, the DCGAN of the
`gan-face-generate` wheel, and from stand-ins that leave the artifact types detectors are known to
pick up: a transposed-convolution upsampler's checkerboard and over-smoothed (denoised) textures.
The stand-ins are named `standin-*` so that nobody takes them for real generators. Real and fake
crops of a category come from the same photographs, cut the same way, and only crops with some
detail are kept (for both labels alike): on a flat patch of sky no artifact is visible to anyone.

Every image is a 64x64 PNG without metadata, so size and format carry no label. The set is written
as CNNDetection-style folders, `<split>/<generator>/<category>/{0_real,1_fake}/NNNN.png` (each
generator folder pairs its fakes with reals of its own categories, as CNNDetection's test set does),
plus `manifest.jsonl` pointing at the same files. The same seed gives byte-identical files.

This module must not import Django: the `make_sample_set` command and the tests call it directly.
"""

from __future__ import annotations

import json
import zlib
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
from PIL import Image
from scipy.ndimage import uniform_filter

SIZE = 64
TEST_FRACTION = 0.3
N_PER_GROUP = 96  # images per label and generator, split evenly over its categories
MIN_DETAIL = 3.0  # mean absolute 3x3 high-pass of a crop's grey levels, in 0..255 units
CHECKERBOARD = 0.05  # how unevenly the stand-in upsampler's kernel phases overlap
MANIFEST_NAME = "manifest.jsonl"


@dataclass(frozen=True)
class SampleSetSummary:
    """What `build_sample_set` wrote, for printing and for comparing with an import.

    `by_generator` counts fake images only: real images have no generator (DESIGN §2), even though
    each sits under one generator's folder. `by_folder` keys are (split, generator folder,
    category, label).
    """

    out_dir: Path
    manifest_path: Path
    n_images: int
    by_split: Mapping[str, int]
    by_label: Mapping[str, int]
    by_generator: Mapping[str, int]
    by_category: Mapping[str, int]
    by_folder: Mapping[tuple[str, str, str, str], int]

    def summary(self) -> str:
        def fmt(counts: Mapping[str, int]) -> str:
            return ", ".join(f"{key} {n}" for key, n in sorted(counts.items()))

        return "\n".join(
            [
                f"{self.n_images} images in {self.out_dir}",
                f"manifest: {self.manifest_path}",
                f"split: {fmt(self.by_split)}",
                f"label: {fmt(self.by_label)}",
                f"generator (fake images): {fmt(self.by_generator)}",
                f"category: {fmt(self.by_category)}",
            ]
        )


# --- sources ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Photo:
    name: str  # how the manifest's `source` names it
    pixels: np.ndarray  # (H, W, 3) uint8
    face_box: tuple[int, int, int] | None = None  # centre x, centre y, side, in pixels


def _photos() -> dict[str, list[_Photo]]:
    """The real photographs per category, all loaded from installed wheels (no network)."""
    import matplotlib.cbook
    import skimage.data
    from sklearn.datasets import load_sample_image

    with Image.open(matplotlib.cbook.get_sample_data("grace_hopper.jpg")) as hopper:
        hopper_pixels = np.asarray(hopper.convert("RGB"))
    return {
        "faces": [
            _Photo("skimage.data.astronaut", skimage.data.astronaut(), (228, 118, 140)),
            _Photo("matplotlib grace_hopper.jpg", hopper_pixels, (265, 232, 215)),
        ],
        "animals": [_Photo("skimage.data.chelsea", skimage.data.chelsea())],
        "objects": [
            _Photo("skimage.data.coffee", skimage.data.coffee()),
            _Photo("skimage.data.stereo_motorcycle", skimage.data.stereo_motorcycle()[0]),
            _Photo("sklearn load_sample_image flower.jpg", load_sample_image("flower.jpg")),
        ],
        "scenes": [
            _Photo("sklearn load_sample_image china.jpg", load_sample_image("china.jpg")),
            _Photo("skimage.data.rocket", skimage.data.rocket()),
            _Photo("skimage.data.hubble_deep_field", skimage.data.hubble_deep_field()),
        ],
    }


def _crop(photo: _Photo, rng: np.random.Generator) -> tuple[np.ndarray, str]:
    """A random square window of `photo` with some detail, downscaled to SIZE (antialiased)."""
    for _ in range(100):
        pixels, source = _window(photo, rng)
        grey = pixels.mean(axis=2)
        detail = np.abs(grey - uniform_filter(grey, 3)).mean()
        if photo.face_box is not None or detail >= MIN_DETAIL:
            return pixels, source
    raise RuntimeError(f"no detailed window found in {photo.name}")


def _window(photo: _Photo, rng: np.random.Generator) -> tuple[np.ndarray, str]:
    height, width = photo.pixels.shape[:2]
    if photo.face_box is not None:
        cx, cy, base = photo.face_box
        side = base * rng.uniform(0.9, 1.15)
        x0 = cx - side / 2 + rng.uniform(-0.06, 0.06) * base
        y0 = cy - side / 2 + rng.uniform(-0.06, 0.06) * base
    else:
        side = SIZE * rng.uniform(1.0, 2.0)
        x0 = rng.uniform(0, width - side)
        y0 = rng.uniform(0, height - side)
    x0, y0, side = round(x0), round(y0), round(side)
    window = Image.fromarray(photo.pixels).resize(
        (SIZE, SIZE), Image.Resampling.LANCZOS, box=(x0, y0, x0 + side, y0 + side)
    )
    pixels = np.asarray(window)
    if rng.random() < 0.5:
        pixels = pixels[:, ::-1]
    return np.ascontiguousarray(pixels), f"{photo.name} crop ({x0}, {y0}) side {side}"


# --- generators ------------------------------------------------------------------------------
# A maker turns (real crops it may start from, rng) into fake images with their `source` texts.

Maker = Callable[[list[tuple[np.ndarray, str]], np.random.Generator], list[tuple[np.ndarray, str]]]


def _dcgan_faces(bases: list[tuple[np.ndarray, str]], rng: np.random.Generator):
    """Faces from the DCGAN whose weights ship in the `gan-face-generate` wheel.

    The DCGAN starts from noise, so of `bases` it only uses the number.
    """
    import torch
    from gan_face_generate.models import Generator

    net = Generator(ngpu=0, nc=3, nz=100, ngf=64)
    weights = resources.files("gan_face_generate") / "weights.tar"
    with resources.as_file(weights) as path:
        net.load_state_dict(torch.load(path, map_location="cpu")["netG_state_dict"])
    net.eval()
    z_seed = int(rng.integers(2**31))
    z = torch.randn(len(bases), 100, 1, 1, generator=torch.Generator().manual_seed(z_seed))
    with torch.inference_mode():
        images = net(z)  # (N, 3, 64, 64) in [-1, 1]
    pixels = ((images.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1)
    return [
        (p.numpy(), f"gan-face-generate DCGAN z seed {z_seed} #{i}") for i, p in enumerate(pixels)
    ]


_BILINEAR = np.outer([0.25, 0.75, 0.75, 0.25], [0.25, 0.75, 0.75, 0.25])
_UPSAMPLER = _BILINEAR * (1 + CHECKERBOARD * (np.indices((4, 4)).sum(axis=0) % 2 * 2 - 1))


def _upsample_checkerboard(bases: list[tuple[np.ndarray, str]], rng: np.random.Generator):
    """Halve the crop, then double it with a stride-2 transposed convolution.

    With a bilinear kernel every output phase gets the same total weight; perturbing the kernel
    makes the phases overlap unevenly, which is the checkerboard GAN upsamplers leave.
    """
    out = []
    for pixels, source in bases:
        low = pixels.astype(np.float64).reshape(SIZE // 2, 2, SIZE // 2, 2, 3).mean(axis=(1, 3))
        low = np.pad(low, ((1, 1), (1, 1), (0, 0)), mode="edge")  # (34, 34, 3)
        full = np.zeros((2 * low.shape[0] + 2, 2 * low.shape[1] + 2, 3))
        for dy in range(4):
            for dx in range(4):
                full[dy : dy + 2 * low.shape[0] : 2, dx : dx + 2 * low.shape[1] : 2] += (
                    low * _UPSAMPLER[dy, dx]
                )
        # the padded transposed convolution is shifted by 3 pixels against the input grid
        up = full[3 : 3 + SIZE, 3 : 3 + SIZE]
        out.append((_to_uint8(up), f"{source}, halved and upsampled"))
    return out


def _oversmoothed_diffusion(bases: list[tuple[np.ndarray, str]], rng: np.random.Generator):
    """Total-variation denoising: flat, waxy textures like over-smoothed diffusion samples."""
    from skimage.restoration import denoise_tv_chambolle

    out = []
    for pixels, source in bases:
        weight = rng.uniform(0.1, 0.2)
        smooth = denoise_tv_chambolle(pixels / 255.0, weight=weight, channel_axis=-1)
        out.append((_to_uint8(smooth * 255.0), f"{source}, TV-smoothed with weight {weight:.3f}"))
    return out


def _to_uint8(pixels: np.ndarray) -> np.ndarray:
    return np.clip(np.round(pixels), 0, 255).astype(np.uint8)


# generator folder name -> (categories, maker); fakes per category = reals per category
GENERATORS: dict[str, tuple[tuple[str, ...], Maker]] = {
    "dcgan-faces": (("faces",), _dcgan_faces),
    "standin-upsample-checkerboard": (("animals", "objects", "scenes"), _upsample_checkerboard),
    "standin-oversmoothed-diffusion": (("animals", "objects", "scenes"), _oversmoothed_diffusion),
}


# --- the set ---------------------------------------------------------------------------------


def build_sample_set(out_dir: Path, *, seed: int = 0) -> SampleSetSummary:
    """Write the sample set into `out_dir` (created; must be empty) and return its counts."""
    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()):
        raise FileExistsError(f"{out_dir} is not empty; the sample set needs a fresh folder")
    photos = _photos()
    rows: list[dict[str, str]] = []
    for generator, (categories, maker) in GENERATORS.items():
        n = N_PER_GROUP // len(categories)
        for category in categories:
            # one stream per folder, so adding a generator leaves the others' images unchanged
            rng = np.random.default_rng([seed, _stable_id(generator), _stable_id(category)])
            sources = photos[category]
            reals = [_crop(sources[i % len(sources)], rng) for i in range(n)]
            bases = [_crop(sources[i % len(sources)], rng) for i in range(n)]
            fakes = maker(bases, rng)
            for label, images in (("real", reals), ("fake", fakes)):
                test = set(rng.permutation(n)[: round(n * TEST_FRACTION)].tolist())
                for i, (pixels, source) in enumerate(images):
                    split = "test" if i in test else "train"
                    folder = "0_real" if label == "real" else "1_fake"
                    path = f"{split}/{generator}/{category}/{folder}/{i:04d}.png"
                    _write_png(out_dir / path, pixels)
                    row = {"path": path, "label": label}
                    if label == "fake":
                        row["generator"] = generator
                    rows.append({**row, "category": category, "split": split, "source": source})

    rows.sort(key=lambda row: row["path"])
    manifest_path = out_dir / MANIFEST_NAME
    manifest_path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return _summarise(out_dir, manifest_path, rows)


def _stable_id(name: str) -> int:
    # Python's hash() of a str changes between processes; the seed stream must not
    return zlib.crc32(name.encode())


def _write_png(path: Path, pixels: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # no pnginfo and no dpi: Pillow then writes no text or physical-size chunks
    Image.fromarray(pixels).save(path, format="PNG")


def _summarise(out_dir: Path, manifest_path: Path, rows: list[dict[str, str]]) -> SampleSetSummary:
    def count(key: str) -> dict[str, int]:
        return dict(Counter(row[key] for row in rows if key in row))

    by_folder = Counter(
        (row["split"], row["path"].split("/")[1], row["category"], row["label"]) for row in rows
    )
    return SampleSetSummary(
        out_dir=out_dir,
        manifest_path=manifest_path,
        n_images=len(rows),
        by_split=count("split"),
        by_label=count("label"),
        by_generator=count("generator"),
        by_category=count("category"),
        by_folder=dict(by_folder),
    )

"""Which images fooled people but not the classifier, and the reverse.

An item (image at one display size) qualifies with at least `min_responses` analysed responses and
a score from the run. "Fooled people" are the items the classifier gets right, ordered by people's
accuracy from the lowest; "fooled the classifier" are the items it gets wrong, ordered by people's
accuracy from the highest. Thumbnails are made from the local file (`path`) when there is one.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from analysis.loaders import SCORE_PREFIX

THUMBNAIL_PX = 192


@dataclass(frozen=True)
class GalleryItem:
    """One shown image with how people and the classifier did on it."""

    image: str
    size: int
    label: str
    generator: str
    n_responses: int
    human_acc: float
    score: float
    thumbnail: Path | None


@dataclass(frozen=True)
class Gallery:
    """The two lists, for one classifier run."""

    run: str
    fooled_people: list[GalleryItem]
    fooled_classifier: list[GalleryItem]
    min_responses: int


def pick_gallery(items: pd.DataFrame, run: str, *, n: int = 8, min_responses: int = 3) -> Gallery:
    """Pick up to `n` items for each list from the summary's per-item table."""
    correct = items["clf_correct_" + run].to_numpy(float)
    eligible = (items["n_responses"].to_numpy() >= min_responses) & ~np.isnan(correct)
    pool = items[eligible].assign(_clf=correct[eligible])
    people = pool[pool["_clf"] == 1].sort_values(["human_acc", "n_responses"], ascending=[1, 0])
    machine = pool[pool["_clf"] == 0].sort_values(["human_acc", "n_responses"], ascending=[0, 0])
    return Gallery(
        run,
        [_entry(row, run) for row in people.head(n).to_dict("records")],
        [_entry(row, run) for row in machine.head(n).to_dict("records")],
        min_responses,
    )


def write_thumbnails(gallery: Gallery, folder: Path, items: pd.DataFrame) -> Gallery:
    """The gallery with thumbnails written to `folder` for items whose local file can be read."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = items.drop_duplicates(["image", "size"]).set_index(["image", "size"])["path"]

    def with_thumbnail(entry: GalleryItem, name: str) -> GalleryItem:
        source = paths.get((entry.image, entry.size))
        if not isinstance(source, str) or not Path(source).is_file():
            return entry
        target = folder / f"{name}.png"
        try:
            with Image.open(source) as image:
                image = image.convert("RGB")
                image.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX))
                image.save(target, format="PNG")
        except OSError:
            return entry
        return GalleryItem(**{**entry.__dict__, "thumbnail": target})

    return Gallery(
        gallery.run,
        [with_thumbnail(e, f"people-{k}") for k, e in enumerate(gallery.fooled_people)],
        [with_thumbnail(e, f"classifier-{k}") for k, e in enumerate(gallery.fooled_classifier)],
        gallery.min_responses,
    )


def _entry(row: dict, run: str) -> GalleryItem:
    is_fake = row["is_fake"]
    label = "pair" if pd.isna(is_fake) else ("fake" if is_fake else "real")
    return GalleryItem(
        image=str(row["image"]),
        size=int(row["size"]),
        label=label,
        generator=str(row["generator"]),
        n_responses=int(row["n_responses"]),
        human_acc=float(row["human_acc"]),
        score=float(row[SCORE_PREFIX + run]),
        thumbnail=None,
    )

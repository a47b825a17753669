"""Reading image manifests: JSONL, one image a line (DESIGN §3).

Keys used: `path` (relative to the manifest's folder, or absolute), `label` ("real" | "fake"), and
the optional `generator`, `category`, `split`. Other keys are ignored, so the platform's
labelled-set export (with `image`, `sha256`, `size`, `scores`, `n_responses`, ...) is a manifest
too; its nulls count as absent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from detector.errors import ManifestError

LABELS = ("real", "fake")


@dataclass(frozen=True)
class ManifestRow:
    path: str  # as written in the manifest, so scores can be joined back to it
    file: Path  # where the image is
    label: str  # "real" | "fake"
    generator: str | None = None
    category: str | None = None
    split: str | None = None


def read_manifest(manifest: str | Path, *, split: str | None = None) -> list[ManifestRow]:
    """Every row of `manifest` (only those of `split` if given), each checked to name a file."""
    manifest = Path(manifest)
    try:
        lines = manifest.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise ManifestError(f"manifest {manifest} not found") from None
    rows = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        row = _parse(line, f"{manifest} line {number}", manifest.parent)
        if split is None or row.split == split:
            rows.append(row)
    if not rows:
        wanted = f" in split {split!r}" if split else ""
        raise ManifestError(f"manifest {manifest} has no images{wanted}")
    return rows


def _parse(line: str, where: str, base: Path) -> ManifestRow:
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ManifestError(f"{where}: not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ManifestError(f"{where}: expected a JSON object")
    path, label = data.get("path"), data.get("label")
    if not isinstance(path, str) or not path:
        raise ManifestError(f"{where}: 'path' must be a non-empty string")
    if label not in LABELS:
        raise ManifestError(f"{where}: 'label' must be 'real' or 'fake', not {label!r}")
    optional = {}
    for key in ("generator", "category", "split"):
        value = data.get(key)
        if value is not None and not isinstance(value, str):
            raise ManifestError(f"{where}: {key!r} must be a string")
        optional[key] = value or None
    file = Path(path) if Path(path).is_absolute() else base / path
    if not file.is_file():
        raise ManifestError(f"{where}: image {file} not found")
    return ManifestRow(path=path, file=file, label=label, **optional)


def classes_for(rows: list[ManifestRow]) -> tuple[str, ...]:
    """N-way classes of a training set: "real", then its generators in name order."""
    generators = sorted({row.generator for row in rows if row.label == "fake" and row.generator})
    if any(row.label == "fake" and not row.generator for row in rows):
        raise ManifestError("an N-way head needs a generator on every fake image")
    return ("real", *generators)


def target_of(row: ManifestRow, classes: tuple[str, ...]) -> int:
    """The class index of `row`: 0/1 for the binary classes, else its generator's index."""
    if classes == LABELS:
        return LABELS.index(row.label)
    name = "real" if row.label == "real" else row.generator
    if name not in classes:
        raise ManifestError(f"{row.path}: generator {name!r} is not one of {list(classes)}")
    return classes.index(name)

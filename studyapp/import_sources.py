"""Reading image sets into import candidates: JSONL manifests, CNNDetection folders and GenImage
folders (DESIGN §3). Pure Python: decides what each file is, never opens an image.

Layouts:
- JSONL manifest: one object a line with `path` (relative to the manifest's folder) or `url`
  (http or https; downloaded by the importer), `label` (real|fake) and optional `generator`,
  `category`, `split`, `prompt`, `source`. `path` wins where a line gives both; other keys (such
  as a labelled-set export's `image`, `scores` or `n_responses`) are ignored.
- CNNDetection: folders named `0_real` and `1_fake`, under `[split/][generator/][category/]`, e.g.
  `0_real/`, `airplane/1_fake/`, `test/progan/airplane/0_real/`.
- GenImage: `<generator>/<train|val>/{ai,nature}/*`.
Options given on the command line fill in what the source leaves open; they never override it.
"""

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

LABELS = ("real", "fake")
SPLITS = ("train", "val", "test")
_CNNDETECTION_LABELS = {"0_real": "real", "1_fake": "fake"}
_GENIMAGE_LABELS = {"nature": "real", "ai": "fake"}
_IGNORED_FILES = {"thumbs.db", "desktop.ini"}
_MANIFEST_FIELDS = ("generator", "category", "split", "prompt", "source")
_URL_SCHEMES = ("http", "https")


@dataclass(frozen=True)
class Candidate:
    """One file to import, with what the source says about it: a local `path`, or else a `url`
    to download."""

    path: Path | None
    where: str  # how messages name it: a manifest line or a path inside the source
    label: str
    generator: str | None = None
    category: str | None = None
    split: str | None = None
    prompt: str = ""
    source_path: str = ""
    metadata: dict = field(default_factory=dict)
    url: str | None = None


@dataclass(frozen=True)
class Rejection:
    where: str
    reason: str


@dataclass(frozen=True)
class Defaults:
    """Command-line values for what the source leaves open."""

    split: str | None = None
    generator: str | None = None
    category: str | None = None


class SourceError(ValueError):
    """The source as a whole cannot be read (missing, or an unknown layout)."""


def read_source(source: Path, defaults: Defaults = Defaults()) -> Iterator[Candidate | Rejection]:
    """Yields a Candidate for each importable entry and a Rejection for each bad one."""
    if defaults.split is not None and defaults.split not in SPLITS:
        raise SourceError(f"--split must be one of {', '.join(SPLITS)}, not {defaults.split!r}")
    if not source.exists():
        raise SourceError(f"{source} does not exist")
    if source.is_file():
        yield from _read_manifest(source, defaults)
    elif _find_dirs(source, _CNNDETECTION_LABELS):
        yield from _read_cnndetection(source, defaults)
    elif _find_dirs(source, _GENIMAGE_LABELS):
        yield from _read_genimage(source, defaults)
    else:
        raise SourceError(
            f"{source}: not a JSONL manifest, and no CNNDetection (0_real/1_fake) or GenImage "
            "(<generator>/<train|val>/ai|nature) folders inside"
        )


def _read_manifest(manifest: Path, defaults: Defaults) -> Iterator[Candidate | Rejection]:
    root = manifest.parent.resolve()
    with manifest.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            where = f"{manifest.name} line {number}"
            try:
                yield _manifest_candidate(json.loads(line), root, where, defaults)
            except json.JSONDecodeError as exc:
                yield Rejection(where, f"malformed JSON: {exc.msg} (column {exc.colno})")
            except ValueError as exc:
                yield Rejection(where, str(exc))


def _manifest_candidate(entry: object, root: Path, where: str, defaults: Defaults) -> Candidate:
    if not isinstance(entry, dict):
        raise ValueError("each line must be a JSON object")
    path, url = entry.get("path"), entry.get("url")
    if path is not None and not isinstance(path, str):
        raise ValueError('"path" must be a string')
    if not path:
        if url is None:
            raise ValueError('missing "path" (or "url")')
        _check_url(url)
    label = entry.get("label")
    if label not in LABELS:
        raise ValueError(f'unknown label {label!r} in "label" (expected "real" or "fake")')
    for key in _MANIFEST_FIELDS:
        if entry.get(key) is not None and not isinstance(entry[key], str):
            raise ValueError(f'"{key}" must be a string')
    resolved = None
    if path:
        resolved = (root / path).resolve()
        if not resolved.is_relative_to(root):
            raise ValueError(f"path {path!r} points outside the manifest's folder")
    split = entry.get("split") or defaults.split
    if split is not None and split not in SPLITS:
        raise ValueError(
            f'unknown split {split!r} in "split" (expected one of {", ".join(SPLITS)})'
        )
    generator = entry.get("generator") or None
    if label == "real" and generator:
        raise ValueError(f"a real image cannot have a generator ({generator!r})")
    named = path or url
    return Candidate(
        path=resolved,
        url=None if path else url,
        where=f"{where} ({named})",
        label=label,
        generator=generator or (defaults.generator if label == "fake" else None),
        category=entry.get("category") or defaults.category,
        split=split,
        prompt=entry.get("prompt") or "",
        source_path=entry.get("source") or path or _without_query(url),
    )


def _without_query(url: str) -> str:
    """The URL less its query (signed object-storage URLs carry credentials there)."""
    return urlsplit(url)._replace(query="", fragment="").geturl()


def _check_url(url: object) -> None:
    if not isinstance(url, str) or not url:
        raise ValueError('"url" must be a non-empty string')
    parts = urlsplit(url)
    if parts.scheme not in _URL_SCHEMES or not parts.netloc:
        raise ValueError(f"url {url!r} is not an absolute http or https URL")


def _read_cnndetection(root: Path, defaults: Defaults) -> Iterator[Candidate | Rejection]:
    for label_dir in _find_dirs(root, _CNNDETECTION_LABELS):
        parts = list(label_dir.parent.relative_to(root).parts)
        split = parts.pop(0) if parts and parts[0] in SPLITS else defaults.split
        if len(parts) > 2:
            yield Rejection(
                str(label_dir.relative_to(root)),
                "too deep: expected [split/][generator/][category/]0_real|1_fake",
            )
            continue
        generator = parts[0] if len(parts) == 2 else None
        category = parts[-1] if parts else None
        yield from _folder_candidates(
            root,
            label_dir,
            _CNNDETECTION_LABELS[label_dir.name],
            generator,
            category,
            split,
            defaults,
        )


def _read_genimage(root: Path, defaults: Defaults) -> Iterator[Candidate | Rejection]:
    for label_dir in _find_dirs(root, _GENIMAGE_LABELS):
        parts = label_dir.parent.relative_to(root).parts
        if len(parts) < 2 or parts[-1] not in ("train", "val"):
            yield Rejection(
                str(label_dir.relative_to(root)), "expected <generator>/<train|val>/ai|nature"
            )
            continue
        yield from _folder_candidates(
            root, label_dir, _GENIMAGE_LABELS[label_dir.name], parts[-2], None, parts[-1], defaults
        )


def _folder_candidates(
    root: Path,
    label_dir: Path,
    label: str,
    generator: str | None,
    category: str | None,
    split: str | None,
    defaults: Defaults,
) -> Iterator[Candidate]:
    generator = (generator or defaults.generator) if label == "fake" else None
    for path in sorted(label_dir.iterdir()):
        if not path.is_file() or path.name.startswith(".") or path.name.lower() in _IGNORED_FILES:
            continue
        relative = str(path.relative_to(root))
        yield Candidate(
            path=path,
            where=relative,
            label=label,
            generator=generator,
            category=category or defaults.category,
            split=split,
            source_path=relative,
        )


def _find_dirs(root: Path, names: dict[str, str]) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_dir() and p.name in names)

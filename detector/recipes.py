"""Training recipes: TOML files in `experiments/`, validated into frozen dataclasses.

A recipe reads like a timm entrypoint: a model name and the arguments that make it, then how to
feed and train it. Every key is checked on load; an unknown key, a value of the wrong type or a
weights file that does not exist raises `RecipeError` naming the key (e.g. `train.epochs`).

Overrides use dotted keys, `{"train.epochs": 2, "model.pretrained": None}`; `None` restores the
default. A relative `model.pretrained` path is resolved against the recipe file's folder, so a
recipe means the same file whatever the working directory.
"""

from __future__ import annotations

import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

import timm

from detector.errors import RecipeError


@dataclass(frozen=True)
class ModelSpec:
    name: str  # a timm model name, e.g. "convnext_large"
    head: Literal["binary", "nway"] = "binary"  # nway: one class per generator, plus "real"
    classes: tuple[str, ...] = ()  # nway only; empty = "real" + the training set's generators
    pretrained: Path | None = None  # a local timm, Lightning or plain state dict; never downloaded
    high_pass: bool = False  # feed the network x - avg_pool3x3(x) instead of x
    args: Mapping[str, Any] = field(default_factory=dict)  # more timm.create_model arguments


@dataclass(frozen=True)
class DataSpec:
    transforms: Literal["laion", "cnndetection"] = "laion"
    resize: int = 256  # shorter side before cropping; 0 = keep the native size
    # LAION resizes before evaluating too; CNNDetection evaluates the image as it is, unless this
    # asks otherwise (for inputs of any size: the platform's display variants, say).
    eval_resize: bool = False
    crop: int = 224
    blur_jpeg_prob: float = 0.0  # cnndetection: probability of Gaussian blur, and of JPEG
    batch_size: int = 32
    workers: int = 4


@dataclass(frozen=True)
class TrainSpec:
    epochs: int
    optimizer: Literal["adamw", "adam"] = "adamw"
    lr: float = 1e-4  # the peak rate for onecycle, the starting rate for plateau
    weight_decay: float = 0.0
    betas: tuple[float, ...] = (0.9, 0.999)
    schedule: Literal["onecycle", "plateau"] = "onecycle"
    warmup: float = 0.1  # onecycle: fraction of steps spent rising to `lr`
    plateau_factor: float = 0.1  # plateau: multiply the rate by this when progress stalls ...
    plateau_patience: int = 5  # ... for this many epochs
    accumulate: int = 1  # batches per optimiser step
    precision: Literal["bf16", "fp32"] = "bf16"  # bf16 autocast applies on GPUs; CPUs run fp32
    channels_last: bool = True
    threads: int = 0  # CPU threads for tensor maths, in training and scoring; 0 = torch's default
    seed: int = 0


@dataclass(frozen=True)
class Recipe:
    name: str
    model: ModelSpec
    data: DataSpec
    train: TrainSpec
    description: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The recipe as plain TOML-like values (paths as strings), as checkpoints store it."""
        out: dict[str, Any] = {"name": self.name, "description": self.description}
        for section in _SECTIONS:
            spec = getattr(self, section)
            values = {}
            for f in fields(spec):
                value = getattr(spec, f.name)
                if isinstance(value, Path):
                    value = str(value)
                elif isinstance(value, tuple):
                    value = list(value)
                elif isinstance(value, Mapping):
                    value = dict(value)
                if value is not None:
                    values[f.name] = value
            out[section] = values
        return out


_SECTIONS: dict[str, type] = {"model": ModelSpec, "data": DataSpec, "train": TrainSpec}
_TOP_LEVEL = {"name", "description", *_SECTIONS}


def load_recipe(path: str | Path, overrides: Mapping[str, Any] | None = None) -> Recipe:
    """Read and validate `path` (a TOML recipe), with dotted-key `overrides` applied first."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RecipeError(f"recipe {path} not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise RecipeError(f"recipe {path} is not valid TOML: {exc}") from None
    raw.setdefault("name", path.stem)
    return recipe_from_dict(raw, overrides, base_dir=path.parent, origin=str(path))


def recipe_from_dict(
    raw: Mapping[str, Any],
    overrides: Mapping[str, Any] | None = None,
    *,
    base_dir: Path = Path(),
    origin: str = "recipe",
) -> Recipe:
    """Validate a recipe given as a dict (a parsed TOML file, or `Recipe.to_dict()` output)."""
    raw = {key: dict(value) if isinstance(value, Mapping) else value for key, value in raw.items()}
    for key, value in (overrides or {}).items():
        _apply_override(raw, key, value, origin)
    for key in raw:
        if key not in _TOP_LEVEL:
            raise RecipeError(f"{origin}: unknown key {key!r} (known: {', '.join(_TOP_LEVEL)})")
    for key in ("name", "description"):
        if not isinstance(raw.get(key, ""), str):
            raise RecipeError(f"{origin}: {key} must be a string")
    specs = {}
    for section, spec_type in _SECTIONS.items():
        table = raw.get(section, {})
        if not isinstance(table, Mapping):
            raise RecipeError(f"{origin}: {section} must be a table")
        specs[section] = _build_spec(spec_type, section, table, base_dir, origin)
    recipe = Recipe(name=raw.get("name", "recipe"), description=raw.get("description", ""), **specs)
    _check_meaning(recipe, origin)
    return recipe


def _apply_override(raw: dict[str, Any], key: str, value: Any, origin: str) -> None:
    section, _, name = key.partition(".")
    if not name:
        if key not in ("name", "description"):
            raise RecipeError(f"{origin}: override {key!r} must be section.key, e.g. train.epochs")
        raw[key] = value
        return
    if section not in _SECTIONS:
        raise RecipeError(f"{origin}: override {key!r} names an unknown section {section!r}")
    table = raw.setdefault(section, {})
    if value is None:
        table.pop(name, None)
    else:
        table[name] = value


def _build_spec(
    spec_type: type, section: str, table: Mapping[str, Any], base_dir: Path, origin: str
) -> Any:
    hints = typing.get_type_hints(spec_type)
    known = {f.name: f for f in fields(spec_type)}
    values = {}
    for name, value in table.items():
        key = f"{section}.{name}"
        if name not in known:
            raise RecipeError(f"{origin}: unknown key {key} (known: {', '.join(known)})")
        values[name] = _coerce(value, hints[name], key, base_dir, origin)
    for name, f in known.items():
        required = f.default is MISSING and f.default_factory is MISSING
        if name not in values and required:
            raise RecipeError(f"{origin}: missing key {section}.{name}")
    return spec_type(**values)


def _coerce(value: Any, hint: Any, key: str, base_dir: Path, origin: str) -> Any:
    """Check `value` against the field's annotation and convert TOML types to the field's."""
    origin_type = typing.get_origin(hint)
    args = typing.get_args(hint)

    def wrong(expected: str) -> RecipeError:
        return RecipeError(f"{origin}: {key} must be {expected}, not {value!r}")

    if origin_type is Literal:
        if value not in args:
            raise wrong("one of " + ", ".join(repr(a) for a in args))
        return value
    if origin_type in (types.UnionType, typing.Union) and Path in args:
        if not isinstance(value, str | Path):
            raise wrong("a file path")
        path = Path(value) if Path(value).is_absolute() else base_dir / value
        if not path.is_file():
            raise RecipeError(f"{origin}: {key} names {path}, which does not exist")
        return path
    if origin_type is tuple:
        if not isinstance(value, list | tuple):
            raise wrong("a list")
        return tuple(_coerce(item, args[0], key, base_dir, origin) for item in value)
    if hint is bool:
        if not isinstance(value, bool):
            raise wrong("true or false")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise wrong("an integer")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise wrong("a number")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise wrong("a string")
        return value
    if origin_type is Mapping:
        if not isinstance(value, Mapping):
            raise wrong("a table")
        return dict(value)
    raise AssertionError(f"no check for {hint} ({key})")


def _check_meaning(recipe: Recipe, origin: str) -> None:
    """Range and consistency rules that types alone cannot say."""
    model, data, train = recipe.model, recipe.data, recipe.train
    rules = [
        (timm.is_model(model.name), "model.name", f"{model.name!r} is not a timm model"),
        (
            model.head == "nway" or not model.classes,
            "model.classes",
            "applies to head = 'nway' only",
        ),
        (
            not model.classes or "real" in model.classes,
            "model.classes",
            "must include 'real'",
        ),
        ("num_classes" not in model.args, "model.args", "num_classes follows from the head"),
        ("pretrained" not in model.args, "model.args", "use model.pretrained, a local file"),
        (data.resize >= 0, "data.resize", "must be >= 0 (0 keeps the native size)"),
        (data.crop >= 1, "data.crop", "must be >= 1"),
        (0.0 <= data.blur_jpeg_prob <= 1.0, "data.blur_jpeg_prob", "must be within [0, 1]"),
        (data.batch_size >= 1, "data.batch_size", "must be >= 1"),
        (data.workers >= 0, "data.workers", "must be >= 0"),
        (train.epochs >= 1, "train.epochs", "must be >= 1"),
        (train.lr > 0, "train.lr", "must be > 0"),
        (train.weight_decay >= 0, "train.weight_decay", "must be >= 0"),
        (len(train.betas) == 2, "train.betas", "must hold two numbers"),
        (0 < train.warmup < 1, "train.warmup", "must be within (0, 1)"),
        (0 < train.plateau_factor < 1, "train.plateau_factor", "must be within (0, 1)"),
        (train.plateau_patience >= 0, "train.plateau_patience", "must be >= 0"),
        (train.accumulate >= 1, "train.accumulate", "must be >= 1"),
        (train.threads >= 0, "train.threads", "must be >= 0 (0 = torch's default)"),
    ]
    for ok, key, message in rules:
        if not ok:
            raise RecipeError(f"{origin}: {key} {message}")

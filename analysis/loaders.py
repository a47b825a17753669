"""Reading the platform's exports into the two tables the analysis works on.

`responses` is the `/api/v1/studies/<slug>/responses` export (CSV or JSONL), one row per response;
`images` is the labelled-set export (CSV or JSONL), one row per image × display size, with the
classifier scores as `score_<run>` columns (CSV) or a `scores` object `{run: p_fake}` (JSONL).
`clean_responses` and `clean_images` give any frame with those columns clean dtypes, whatever it
was read from, so a database loader can hand its rows to them too. Extra columns are dropped.
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd

SCORE_PREFIX = "score_"
RESPONSE_COLUMNS = (
    "participant",
    "trial",
    "kind",
    "image",
    "image_right",
    "size",
    "choice",
    "confidence",
    "correct",
    "rt_ms",
    "excluded",
    "simulated",
    "created",
)
IMAGE_COLUMNS = (
    "image",
    "url",
    "sha256",
    "label",
    "generator",
    "category",
    "split",
    "size",
    "width",
    "height",
    "format",
    "bytes",
    "path",
)
_REQUIRED_RESPONSES = ("participant", "kind", "image", "size", "choice")
_REQUIRED_IMAGES = ("image", "label", "size")
_TRUE = frozenset({"true", "t", "1", "yes", "y"})
_FALSE = frozenset({"false", "f", "0", "no", "n"})


class AnalysisInputError(ValueError):
    """An input table is missing something the analysis needs; the message says what."""


def read_responses(path: str | Path) -> pd.DataFrame:
    """The responses export (`.csv`, `.jsonl`, optionally `.gz`) as a clean frame."""
    return clean_responses(_read_table(path, text_columns=RESPONSE_COLUMNS))


def read_images(path: str | Path) -> pd.DataFrame:
    """The labelled-set export (`.csv`, `.jsonl`, optionally `.gz`) as a clean frame."""
    return clean_images(_read_table(path, text_columns=IMAGE_COLUMNS))


def clean_responses(raw: pd.DataFrame) -> pd.DataFrame:
    """Responses with the contract's columns and dtypes: categoricals, nullable ints, booleans.

    Optional columns that are missing are added empty (`excluded` and `simulated` as False).
    """
    _require(raw, _REQUIRED_RESPONSES, "responses")
    raw = raw.reset_index(drop=True)
    n = len(raw)
    out = pd.DataFrame(index=pd.RangeIndex(n))
    out["participant"] = _text(raw["participant"]).astype("category")
    out["trial"] = _optional_text(raw, "trial")
    out["kind"] = _categorical(raw["kind"], ("practice", "main", "attention"))
    out["image"] = _text(raw["image"])
    out["image_right"] = _optional_text(raw, "image_right")
    out["size"] = _int(raw["size"])
    out["choice"] = _categorical(raw["choice"], ("real", "fake", "left", "right"))
    out["confidence"] = _int(raw["confidence"]) if "confidence" in raw else _empty_int(n)
    out["correct"] = _bool(raw["correct"]) if "correct" in raw else _empty_bool(n)
    out["rt_ms"] = _int(raw["rt_ms"]) if "rt_ms" in raw else _empty_int(n)
    for flag in ("excluded", "simulated"):
        values = _bool(raw[flag]) if flag in raw else _empty_bool(n)
        out[flag] = values.fillna(False)
    created = raw["created"] if "created" in raw else pd.Series(pd.NA, index=raw.index)
    out["created"] = pd.to_datetime(created.to_numpy(), utc=True, errors="coerce", format="ISO8601")
    return out


def clean_images(raw: pd.DataFrame) -> pd.DataFrame:
    """Images with the contract's columns and dtypes plus one float `score_<run>` column per run.

    A JSONL `scores` object is spread into `score_<run>` columns. Duplicate image × size rows keep
    the first.
    """
    _require(raw, _REQUIRED_IMAGES, "images")
    raw = raw.reset_index(drop=True)
    n = len(raw)
    out = pd.DataFrame(index=pd.RangeIndex(n))
    for column in ("image", "url", "sha256", "generator", "category", "split", "path"):
        out[column] = _optional_text(raw, column)
    label = _lower(raw["label"])
    if not label.isin(["real", "fake"]).all():
        bad = raw.loc[~label.isin(["real", "fake"]).to_numpy(), "label"].iloc[0]
        raise AnalysisInputError(f"images: label must be real or fake, got {bad!r}")
    out["label"] = label.astype(pd.CategoricalDtype(["real", "fake"]))
    for column in ("size", "width", "height", "bytes"):
        out[column] = _int(raw[column]) if column in raw else _empty_int(n)
    out["format"] = _optional_text(raw, "format").str.upper()
    for run, scores in _score_columns(raw).items():
        out[SCORE_PREFIX + run] = scores
    return out.drop_duplicates(["image", "size"], keep="first").reset_index(drop=True)


def score_runs(images: pd.DataFrame) -> list[str]:
    """The classifier run names that have a `score_<run>` column, in column order."""
    return [c[len(SCORE_PREFIX) :] for c in images.columns if c.startswith(SCORE_PREFIX)]


def _read_table(path: str | Path, *, text_columns: tuple[str, ...]) -> pd.DataFrame:
    path = Path(path)
    suffixes = [s.lower() for s in path.suffixes if s.lower() != ".gz"]
    kind = suffixes[-1] if suffixes else ""
    if kind == ".csv":
        return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    if kind in (".jsonl", ".ndjson", ".json"):
        frame = pd.read_json(path, lines=True, dtype=False)
        for column in text_columns:
            if column in frame:
                frame[column] = frame[column].astype(object)
        return frame
    raise AnalysisInputError(f"{path}: expected a .csv or .jsonl export, got {path.name!r}")


def _require(frame: pd.DataFrame, columns: tuple[str, ...], name: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise AnalysisInputError(f"{name}: missing column(s) {', '.join(missing)}")


def _text(values: pd.Series) -> pd.Series:
    """Strings, stripped, with empty cells as missing."""
    text = values.astype("str").str.strip()
    return text.mask(text == "")


def _optional_text(raw: pd.DataFrame, column: str) -> pd.Series:
    if column in raw:
        return _text(raw[column])
    return pd.Series(np.nan, index=pd.RangeIndex(len(raw)), dtype="str")


def _categorical(values: pd.Series, categories: tuple[str, ...]) -> pd.Series:
    """Lower-cased categories; anything else becomes missing."""
    text = _lower(values)
    return text.where(text.isin(categories)).astype(pd.CategoricalDtype(list(categories)))


def _lower(values: pd.Series) -> pd.Series:
    return _text(values).str.strip().str.lower()


def _int(values: pd.Series) -> pd.Series:
    numbers = pd.to_numeric(values.replace("", np.nan), errors="coerce")
    return numbers.round().astype("Int64")


def _bool(values: pd.Series) -> pd.Series:
    if pd.api.types.is_bool_dtype(values.dtype):
        return values.astype("boolean")
    text = values.astype(object).map(lambda v: None if v is None else str(v).strip().lower())
    out = pd.Series(pd.NA, index=values.index, dtype="boolean")
    out[text.isin(_TRUE).to_numpy()] = True
    out[text.isin(_FALSE).to_numpy()] = False
    return out


def _empty_int(n: int) -> pd.Series:
    return pd.Series(pd.NA, index=pd.RangeIndex(n), dtype="Int64")


def _empty_bool(n: int) -> pd.Series:
    return pd.Series(pd.NA, index=pd.RangeIndex(n), dtype="boolean")


def _score_columns(raw: pd.DataFrame) -> dict[str, pd.Series]:
    columns: dict[str, pd.Series] = {}
    if "scores" in raw:
        parsed = raw["scores"].map(_as_mapping)
        runs = sorted({run for mapping in parsed for run in mapping})
        for run in runs:
            values = parsed.map(lambda m, r=run: m.get(r))
            columns[run] = pd.to_numeric(values, errors="coerce").astype(float).to_numpy()
    for column in raw.columns:
        if column.startswith(SCORE_PREFIX):
            values = pd.to_numeric(raw[column].replace("", np.nan), errors="coerce")
            columns[column[len(SCORE_PREFIX) :]] = values.astype(float).to_numpy()
    return columns


def _as_mapping(value: object) -> dict:
    if isinstance(value, dict):
        return value
    if isinstance(value, str) and value.strip():
        parsed = json.loads(value)
        return parsed if isinstance(parsed, dict) else {}
    return {}

"""Shortcut audit: can the label be predicted from file facts alone?

If real photos are JPEGs and generated images PNGs, or they differ in size or compression, a
classifier (or a sharp-eyed volunteer) can score well without looking at the content. The audit fits
a plain logistic regression on the facts of each file — format, bytes per pixel, width, height and a
JPEG quality estimate — and reports its cross-validated ROC AUC (stratified 5-fold). An AUC above
0.6 is flagged. Run it on the originals (the labelled-set export's `format`, `bytes`, `width`,
`height`) to see what a detector trained on them could exploit, and on the files as shown (the
variants at `path`) to check that the import's re-encoding removed those cues.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

FLAG_AUC = 0.6
NUMERIC_FACTS = ("bytes_per_pixel", "width", "height", "jpeg_quality")
# The IJG (libjpeg) standard luminance quantisation table, ITU-T T.81 Annex K, Table K.1.
_IJG_LUMINANCE = np.array(
    [
        [16, 11, 10, 16, 24, 40, 51, 61],
        [12, 12, 14, 19, 26, 58, 60, 55],
        [14, 13, 16, 24, 40, 57, 69, 56],
        [14, 17, 22, 29, 51, 87, 80, 62],
        [18, 22, 37, 56, 68, 109, 103, 77],
        [24, 35, 55, 64, 81, 104, 113, 92],
        [49, 64, 78, 87, 103, 121, 120, 101],
        [72, 92, 95, 98, 112, 100, 103, 99],
    ],
    float,
).ravel()


@dataclass(frozen=True)
class ShortcutAudit:
    """Cross-validated AUC of predicting the label from file facts; `flagged` when above 0.6."""

    source: str
    auc: float
    fold_min: float
    fold_max: float
    n_real: int
    n_fake: int
    facts: tuple[str, ...]
    flagged: bool
    note: str = ""

    def summary(self) -> str:
        if np.isnan(self.auc):
            return f"shortcut audit ({self.source}): not computed — {self.note}"
        verdict = "FLAGGED" if self.flagged else "ok"
        return (
            f"shortcut audit ({self.source}): AUC={self.auc:.3f} "
            f"(folds {self.fold_min:.3f}–{self.fold_max:.3f}) from {', '.join(self.facts)} "
            f"on {self.n_real} real / {self.n_fake} fake — {verdict}"
        )


def estimate_jpeg_quality(image: Image.Image) -> float:
    """The IJG quality (1–100) whose scaled luminance table is nearest the file's own, as
    ImageMagick's estimate does; NaN when the image is not a JPEG."""
    tables = getattr(image, "quantization", None)
    if image.format != "JPEG" or not tables:
        return np.nan
    actual = np.asarray(tables[min(tables)], float).sum()
    qualities = np.arange(1, 101)
    scale = np.where(qualities < 50, 5000 / qualities, 200 - 2 * qualities)
    tables_q = np.clip(np.floor((_IJG_LUMINANCE[None, :] * scale[:, None] + 50) / 100), 1, 255)
    return float(qualities[np.argmin(np.abs(tables_q.sum(axis=1) - actual))])


def facts_from_files(paths: pd.Series) -> pd.DataFrame:
    """format, bytes, width, height and jpeg_quality read from each file (missing if unreadable)."""
    rows = []
    for path in paths:
        row = {"format": None, "bytes": np.nan, "width": np.nan, "height": np.nan}
        row["jpeg_quality"] = np.nan
        if isinstance(path, str) and Path(path).is_file():
            try:
                with Image.open(path) as image:
                    row |= {"format": image.format, "width": image.width, "height": image.height}
                    row["jpeg_quality"] = estimate_jpeg_quality(image)
                row["bytes"] = Path(path).stat().st_size
            except OSError:
                pass
        rows.append(row)
    return pd.DataFrame(rows, index=paths.index)


def shortcut_audit(
    facts: pd.DataFrame, *, source: str = "originals", folds: int = 5, seed: int = 0
) -> ShortcutAudit:
    """Audit one table of files: columns label (real|fake), format, bytes, width, height and
    optionally jpeg_quality (one row per file)."""
    frame = _features(facts)
    is_fake = (facts["label"].astype("str") == "fake").to_numpy()
    usable = frame.notna().all(axis=1).to_numpy()
    frame, is_fake = frame[usable], is_fake[usable]
    n_fake, n_real = int(is_fake.sum()), int((~is_fake).sum())
    numeric = [c for c in NUMERIC_FACTS if c in frame and frame[c].nunique() > 1]
    used = ("format", *numeric)
    k = min(folds, n_fake, n_real)
    if k < 2:
        note = "needs at least two real and two fake files with known facts"
        return ShortcutAudit(source, np.nan, np.nan, np.nan, n_real, n_fake, used, False, note)
    model = make_pipeline(
        ColumnTransformer(
            [
                ("format", OneHotEncoder(handle_unknown="ignore"), ["format"]),
                ("numeric", StandardScaler(), numeric),
            ]
        ),
        LogisticRegression(max_iter=1000),
    )
    cv = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    scores = cross_val_score(model, frame[list(used)], is_fake, cv=cv, scoring="roc_auc")
    auc = float(np.mean(scores))
    return ShortcutAudit(
        source,
        auc,
        float(scores.min()),
        float(scores.max()),
        n_real,
        n_fake,
        used,
        auc > FLAG_AUC,
    )


def _features(facts: pd.DataFrame) -> pd.DataFrame:
    width = pd.to_numeric(facts["width"], errors="coerce").astype(float)
    height = pd.to_numeric(facts["height"], errors="coerce").astype(float)
    size = pd.to_numeric(facts["bytes"], errors="coerce").astype(float)
    fmt = facts["format"].astype("str").str.upper()
    quality = (
        pd.to_numeric(facts["jpeg_quality"], errors="coerce").astype(float)
        if "jpeg_quality" in facts
        else pd.Series(np.nan, index=facts.index)
    )
    is_jpeg = (fmt == "JPEG").to_numpy()
    if quality[is_jpeg].notna().any():
        # lossless formats sit at the top of the quality scale; JPEGs without a file get the median
        quality = quality.where(is_jpeg, 100.0).fillna(quality[is_jpeg].median())
    else:
        quality = pd.Series(100.0, index=facts.index)
    return pd.DataFrame(
        {
            "format": fmt.fillna("(unknown)").to_numpy(object),
            "bytes_per_pixel": (size / (width * height)).to_numpy(),
            "width": width.to_numpy(),
            "height": height.to_numpy(),
            "jpeg_quality": quality.to_numpy(),
        },
        index=facts.index,
    )

"""`report.md` and a self-contained `report.html` (figures and thumbnails inlined).

The report is a list of blocks rendered twice, so both files say the same thing.
"""

import base64
import html
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.dataset import AnalysisData
from analysis.gallery import Gallery, GalleryItem
from analysis.mixed import MixedModelResult
from analysis.shortcut import FLAG_AUC, ShortcutAudit
from analysis.summary import Summary


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 2


@dataclass(frozen=True)
class Paragraph:
    text: str


@dataclass(frozen=True)
class Alert:
    text: str


@dataclass(frozen=True)
class Table:
    frame: pd.DataFrame
    caption: str = ""


@dataclass(frozen=True)
class Figure:
    path: Path
    caption: str


@dataclass(frozen=True)
class GalleryBlock:
    gallery: Gallery


@dataclass(frozen=True)
class ReportInputs:
    """Everything one report shows."""

    source: str
    data: AnalysisData
    summary: Summary
    figures: dict[str, Path]
    audits: list[ShortcutAudit]
    mixed: MixedModelResult | None
    mixed_error: str | None = None
    galleries: list[Gallery] = field(default_factory=list)


_MODES = {"single": "single image (real or fake?)", "pair": "pair (which one is generated?)"}


def build_blocks(inputs: ReportInputs) -> list:
    """The report's content, in order."""
    data, table = inputs.data, inputs.summary.table
    blocks: list = [Heading("Beholder — people vs classifiers", 1)]
    blocks.append(
        Paragraph(
            f"Source: {inputs.source}. Generated {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. "
            f"Mode: {_MODES[data.mode]}."
        )
    )
    blocks += [Alert(_audit_warning(a)) for a in inputs.audits if a.flagged]
    blocks += _data_blocks(inputs)
    blocks += _method_blocks(inputs)
    blocks += _overall_blocks(table)
    blocks += _figure_blocks(inputs.figures)
    blocks += _group_blocks(table)
    blocks += _paired_blocks(table)
    blocks += _agreement_blocks(table)
    blocks += _mixed_blocks(inputs.mixed, inputs.mixed_error)
    blocks += _audit_blocks(inputs.audits)
    for gallery in inputs.galleries:
        blocks.append(GalleryBlock(gallery))
    return blocks


def write_markdown(blocks: list, path: Path) -> Path:
    """report.md; figures and thumbnails are referenced by relative path."""
    out = []
    for block in blocks:
        if isinstance(block, Heading):
            out.append(f"{'#' * block.level} {block.text}\n")
        elif isinstance(block, Paragraph):
            out.append(block.text + "\n")
        elif isinstance(block, Alert):
            out.append(f"> **⚠ WARNING:** {block.text}\n")
        elif isinstance(block, Table):
            out.append(_markdown_table(block.frame, block.caption))
        elif isinstance(block, Figure):
            out.append(f"![{block.caption}]({_relative(block.path, path.parent)})\n")
            out.append(f"*{block.caption}*\n")
        elif isinstance(block, GalleryBlock):
            out.append(_markdown_gallery(block.gallery, path.parent))
    path.write_text("\n".join(out), encoding="utf-8")
    return path


def write_html(blocks: list, path: Path) -> Path:
    """report.html with every image inlined as a data URI, so the file stands alone."""
    body = []
    for block in blocks:
        if isinstance(block, Heading):
            body.append(f"<h{block.level}>{html.escape(block.text)}</h{block.level}>")
        elif isinstance(block, Paragraph):
            body.append(f"<p>{_inline_html(block.text)}</p>")
        elif isinstance(block, Alert):
            text = _inline_html(block.text)
            body.append(f'<div class="warning"><strong>⚠ WARNING:</strong> {text}</div>')
        elif isinstance(block, Table):
            body.append(_html_table(block.frame, block.caption))
        elif isinstance(block, Figure):
            body.append(
                f'<figure><img src="{_data_uri(block.path)}" alt="{html.escape(block.caption)}">'
                f"<figcaption>{html.escape(block.caption)}</figcaption></figure>"
            )
        elif isinstance(block, GalleryBlock):
            body.append(_html_gallery(block.gallery))
    document = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Beholder report</title>
<style>{_CSS}</style></head>
<body><main>
{chr(10).join(body)}
</main></body></html>
"""
    path.write_text(document, encoding="utf-8")
    return path


_CSS = """
body { font-family: system-ui, sans-serif; color: #222; background: #fafafa; margin: 0; }
main { max-width: 1100px; margin: 0 auto; padding: 1.5rem 2rem 4rem; background: #fff; }
h1 { font-size: 1.6rem; } h2 { margin-top: 2.2rem; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; font-size: 0.82rem; margin: 0.6rem 0 1.2rem; }
th, td { border: 1px solid #ddd; padding: 0.25rem 0.5rem; text-align: right; }
th { background: #f0f3f6; } td:first-child, td:nth-child(2) { text-align: left; }
caption { caption-side: top; text-align: left; font-style: italic; padding-bottom: 0.3rem; }
figure { margin: 1rem 0; } figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { font-style: italic; font-size: 0.85rem; color: #555; }
.warning { background: #fde8e8; border: 2px solid #c0392b; color: #7b1d12; padding: 0.8rem 1rem;
  margin: 1rem 0; font-size: 1.05rem; }
.gallery { display: flex; flex-wrap: wrap; gap: 0.8rem; }
.tile { width: 200px; font-size: 0.78rem; border: 1px solid #ddd; padding: 4px;
  background: #fcfcfc; }
.tile img { width: 192px; height: 192px; object-fit: contain; background: #eee; display: block; }
.placeholder { width: 192px; height: 192px; display: flex; align-items: center;
  justify-content: center; background: #eee; color: #777; text-align: center;
  word-break: break-all; }
code { background: #f3f3f3; padding: 0 0.2rem; }
"""


def _data_blocks(inputs: ReportInputs) -> list:
    ex, data = inputs.data.exclusions, inputs.data
    rows = [
        ("responses in the export", ex.n_responses),
        ("practice trials (left out)", ex.n_practice),
        ("attention-check trials (left out)", ex.n_attention),
        (
            f"main trials of {ex.n_excluded_participants} excluded participants (left out)",
            ex.n_excluded,
        ),
        (
            f"main trials of {ex.n_simulated_participants} simulated participants (left out)",
            ex.n_simulated,
        ),
        ("unanswered main trials (left out)", ex.n_unanswered),
        ("main trials whose image × size is not in the images table (left out)", ex.n_unmatched),
        ("responses analysed", ex.n_used),
    ]
    overall = inputs.summary.table.iloc[0] if len(inputs.summary.table) else None
    facts = (
        f"{int(overall['n_participants'])} participants, {int(overall['n_images'])} images, "
        f"{int(overall['n_items'])} image × size items; classifier runs: "
        f"{', '.join(data.runs) or 'none'}; confidence ratings: "
        f"{'yes' if data.has_confidence else 'no'}."
        if overall is not None
        else "No responses left to analyse."
    )
    return [
        Heading("Data"),
        Paragraph(
            "Every number and figure below uses only the analysed responses: practice and "
            "attention-check trials, and all trials of excluded participants, are left out "
            "everywhere. " + facts
        ),
        Table(pd.DataFrame(rows, columns=["responses", "count"])),
    ]


def _method_blocks(inputs: ReportInputs) -> list:
    mixed = inputs.mixed
    mixed_text = (
        _MIXED.format(method=_method_name(mixed.method), n=mixed.n_boot)
        if mixed is not None
        else "**Mixed model.** Not fitted in this run."
    )
    texts = [_INTERVALS.format(n=inputs.summary.n_boot), _SDT, _CLASSIFIER, _PAIRED, mixed_text]
    return [Heading("Methods"), *(Paragraph(_prose(t)) for t in texts)]


def _prose(text: str) -> str:
    return " ".join(text.split())


_INTERVALS = """**Intervals.** People's accuracy and d′ carry 95% percentile intervals from a
crossed bootstrap ({n} replicates): every replicate gives each participant and each image an
independent Poisson(1) weight and counts a response with the product of its participant's and
image's weights (Owen 2007, the pigeonhole bootstrap; slightly conservative). The classifier's
intervals reuse the same image weights, so the difference people − classifier is paired.
`summary.csv` also has Wilson intervals (responses taken as independent) as a cross-check; they are
narrower because they ignore that people and images differ."""
_SDT = """**Signal detection.** "Fake" is the signal. d′ = z(H) − z(F) and c = −(z(H) + z(F))/2 from
pooled counts, with the log-linear correction (Hautus 1995: (hits + 0.5)/(signals + 1)) applied to
every group; the mean of per-participant d′ is given beside it. People's AUC is the area under the
rating-scale ROC built from confidence (empty when the study collected none)."""
_CLASSIFIER = """**Classifier.** Scores are each run's probability that the image is generated, on
the very items people saw; "fake" when above 0.5. AUC and average precision are scikit-learn's; ECE
uses 15 equal-width confidence bins. The operating-point comparison moves the threshold until the
classifier's false-alarm rate on real images equals the people's, then compares hit rates and
accuracy."""
_PAIRED = """**Paired comparison.** On each item, people's majority vote (items with a tied vote are
left out) against the classifier: exact McNemar test, Holm-corrected across all groups reported for
the run; error consistency is Cohen's kappa of the two right/wrong patterns beyond what the two
accuracies imply (Geirhos et al. 2020)."""
_MIXED = """**Mixed model.** Logistic regression of correctness on generator, display size and
category with crossed random intercepts for participant and image, fitted by {method}. The table
reports its point estimates; the 95% intervals come from {n} crossed-bootstrap refits, not from
the model's own standard errors, which are shown for reference only (variational-Bayes posterior
SDs in particular are several times too small on crossed designs)."""


def _method_name(method: str) -> str:
    if method == "vb":
        return "statsmodels' variational Bayes (`BinomialBayesMixedGLM.fit_vb`)"
    return (
        "the Laplace approximation with fixed effects in the penalised IRLS step (lme4's "
        "`glmer(nAGQ = 0)`; a fast documented equivalent of statsmodels' "
        "`BinomialBayesMixedGLM`, whose point estimates it closely matches)"
    )


def _overall_blocks(table: pd.DataFrame) -> list:
    rows = table[table["dimension"] == "overall"]
    if rows.empty:
        return []
    first = rows.iloc[0]
    people = [
        (
            "people",
            _ci(first, "human_acc"),
            _f(first["human_acc_real"]),
            _f(first["human_acc_fake"]),
            _ci(first, "human_dprime", 2),
            _f(first["human_c"], 2),
            _f(first["human_auc"]),
        )
    ]
    runs = [
        (
            f"classifier {row['clf_run']}",
            _ci(row, "clf_acc"),
            _f(row["clf_acc_real"]),
            _f(row["clf_acc_fake"]),
            "",
            "",
            _f(row["clf_auc"]),
        )
        for _, row in rows.iterrows()
        if isinstance(row["clf_run"], str)
    ]
    frame = pd.DataFrame(
        people + runs,
        columns=["who", "accuracy [95% CI]", "on real", "on fake", "d′ [95% CI]", "c", "AUC"],
    )
    blocks = [Heading("Overall"), Table(frame)]
    for _, row in rows.iterrows():
        if isinstance(row["clf_run"], str) and not np.isnan(row["clf_acc_at_human_fa"]):
            blocks.append(
                Paragraph(
                    f"At people's false-alarm rate ({_f(first['human_fa_rate'])}), "
                    f"{row['clf_run']} (threshold {_f(row['clf_threshold_at_human_fa'])}) "
                    f"has hit rate {_f(row['clf_hit_at_human_fa'])} against people's "
                    f"{_f(first['human_hit_rate'])}, accuracy {_f(row['clf_acc_at_human_fa'])}."
                )
            )
    return blocks


def _figure_blocks(figures: dict[str, Path]) -> list:
    captions = {
        "accuracy_by_group": "Accuracy by group: people (crossed-bootstrap 95% CI) and each "
        "classifier run (95% CI over images).",
        "roc": "People's ROC points (confidence ratings and yes/no answers) against each "
        "classifier's ROC curve.",
        "accuracy_by_size": "Accuracy by display size.",
    }
    blocks: list = [Heading("Figures")]
    for name, path in figures.items():
        blocks.append(Figure(path, captions.get(name, name)))
    return blocks


def _group_blocks(table: pd.DataFrame) -> list:
    blocks: list = [Heading("By group")]
    for run, rows in _by_run(table):
        frame = pd.DataFrame(
            {
                "dimension": rows["dimension"],
                "group": rows["group"],
                "responses": rows["n_responses"].astype(int),
                "images": rows["n_images"].astype(int),
                "people acc [95% CI]": [_ci(r, "human_acc") for _, r in rows.iterrows()],
                "d′": rows["human_dprime"].map(lambda v: _f(v, 2)),
                "c": rows["human_c"].map(lambda v: _f(v, 2)),
                "people AUC": rows["human_auc"].map(_f),
            }
        )
        if run is not None:
            frame["classifier acc [95% CI]"] = [_ci(r, "clf_acc") for _, r in rows.iterrows()]
            frame["clf AUC"] = rows["clf_auc"].map(_f)
            frame["people − clf [95% CI]"] = [_ci(r, "acc_diff") for _, r in rows.iterrows()]
        caption = f"classifier run {run}" if run is not None else "no classifier scores"
        blocks.append(Table(frame.reset_index(drop=True), caption))
    return blocks


def _paired_blocks(table: pd.DataFrame) -> list:
    blocks: list = []
    for run, rows in _by_run(table):
        if run is None:
            continue
        frame = pd.DataFrame(
            {
                "dimension": rows["dimension"],
                "group": rows["group"],
                "items": rows["n_paired"].astype("Int64"),
                "ties left out": rows["n_ties"].astype("Int64"),
                "people majority acc": rows["human_majority_acc"].map(_f),
                "classifier acc": rows["clf_paired_acc"].map(_f),
                "only people right": rows["mcnemar_human_only"].astype("Int64"),
                "only classifier right": rows["mcnemar_clf_only"].astype("Int64"),
                "McNemar p": rows["mcnemar_p"].map(_p),
                "p (Holm)": rows["mcnemar_p_holm"].map(_p),
                "error consistency κ": rows["error_consistency"].map(lambda v: _f(v, 3)),
            }
        )
        blocks.append(Table(frame.reset_index(drop=True), f"classifier run {run}"))
    if blocks:
        blocks.insert(0, Heading("Paired comparison on the same images"))
    return blocks


def _agreement_blocks(table: pd.DataFrame) -> list:
    rows = table.drop_duplicates(["dimension", "group"])
    overall = rows[rows["dimension"] == "overall"]
    if overall.empty:
        return []
    kappa = overall["human_fleiss_kappa"].iloc[0]
    frame = rows[rows["dimension"].isin(["overall", "label", "generator", "size"])][
        ["dimension", "group", "human_fleiss_kappa"]
    ].rename(columns={"human_fleiss_kappa": "Fleiss κ"})
    frame["Fleiss κ"] = frame["Fleiss κ"].map(lambda v: _f(v, 3))
    return [
        Heading("Agreement among volunteers"),
        Paragraph(
            f"Fleiss' kappa over items with at least two responses: {_f(kappa, 3)} overall "
            "(categories: the two answers; raters may differ between items, so the "
            "varying-raters form is used)."
        ),
        Table(frame.reset_index(drop=True)),
    ]


def _mixed_blocks(mixed: MixedModelResult | None, error: str | None) -> list:
    blocks: list = [Heading("Mixed-effects logistic regression")]
    if mixed is None:
        blocks.append(Paragraph(error or "Not fitted (switched off)."))
        return blocks
    frame = mixed.table.copy()
    for column in ("estimate", "odds_ratio", "model_se", "low", "high"):
        frame[column] = frame[column].map(lambda v: _f(v, 3))
    frame = frame.rename(
        columns={
            "estimate": "log-odds",
            "odds_ratio": "odds ratio",
            "model_se": "model SE (not used)",
            "low": "95% CI low (bootstrap)",
            "high": "95% CI high (bootstrap)",
        }
    )
    blocks.append(
        Paragraph(
            f"{mixed.n_responses} responses, {mixed.n_participants} participants, "
            f"{mixed.n_images} images. Random-intercept SDs (log-odds): participant "
            f"{mixed.sd_participant:.3f}, image {mixed.sd_image:.3f}. Positive log-odds mean "
            "more correct answers than the reference level (the first level: `real` for the "
            "generator, the smallest display size, the most common category). "
            f"{mixed.note}"
        )
    )
    blocks.append(Table(frame))
    return blocks


def _audit_blocks(audits: list[ShortcutAudit]) -> list:
    blocks: list = [Heading("Shortcut audit of the image set")]
    blocks.append(
        Paragraph(
            "Can the label be predicted from file facts alone (format, bytes per pixel, width, "
            "height, JPEG quality estimate)? Cross-validated ROC AUC of a plain logistic "
            f"regression; above {FLAG_AUC} is flagged."
        )
    )
    for audit in audits:
        if audit.flagged:
            blocks.append(Alert(_audit_warning(audit)))
        blocks.append(Paragraph(audit.summary()))
    return blocks


def _audit_warning(audit: ShortcutAudit) -> str:
    return (
        f"the label of the {audit.source} can be predicted from file facts alone "
        f"(cross-validated AUC {audit.auc:.3f} > {FLAG_AUC}). A classifier trained on these files "
        "can score well without looking at the content; compare classifiers on re-encoded "
        "variants only, and check that real and generated images went through the same pipeline."
    )


def _by_run(table: pd.DataFrame):
    runs = table["clf_run"].dropna().unique().tolist()
    if not runs:
        yield None, table
    for run in runs:
        yield run, table[table["clf_run"] == run]


def _cell(value) -> str:
    if isinstance(value, str):
        return value
    return "" if value is None or pd.isna(value) else str(value)


def _markdown_table(frame: pd.DataFrame, caption: str) -> str:
    header = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    lines = [f"*{caption}*\n" if caption else "", header, rule]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in frame.to_numpy(object)]
    return "\n".join(lines) + "\n"


def _html_table(frame: pd.DataFrame, caption: str) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    rows = []
    for row in frame.to_numpy(object):
        cells = "".join(f"<td>{html.escape(_cell(v))}</td>" for v in row)
        rows.append(f"<tr>{cells}</tr>")
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _gallery_lists(gallery: Gallery) -> list[tuple[str, list[GalleryItem]]]:
    return [
        (f"Fooled most people, not classifier {gallery.run}", gallery.fooled_people),
        (f"Fooled classifier {gallery.run}, not most people", gallery.fooled_classifier),
    ]


def _caption(item: GalleryItem) -> str:
    return (
        f"{item.label}{'' if item.label == 'real' else ' · ' + item.generator} · {item.size}px · "
        f"people {item.human_acc:.0%} of {item.n_responses} · p(fake) {item.score:.2f}"
    )


def _markdown_gallery(gallery: Gallery, root: Path) -> str:
    out = []
    for title, entries in _gallery_lists(gallery):
        out.append(f"## {title}\n")
        if not entries:
            out.append(f"No item with at least {gallery.min_responses} responses qualifies.\n")
        for item in entries:
            picture = (
                f"![{item.image}]({_relative(item.thumbnail, root)}) " if item.thumbnail else ""
            )
            out.append(f"- {picture}`{item.image}` — {_caption(item)}")
        out.append("")
    return "\n".join(out)


def _html_gallery(gallery: Gallery) -> str:
    out = []
    for title, entries in _gallery_lists(gallery):
        out.append(f"<h2>{html.escape(title)}</h2>")
        if not entries:
            out.append(f"<p>No item with at least {gallery.min_responses} responses qualifies.</p>")
            continue
        tiles = []
        for item in entries:
            picture = (
                f'<img src="{_data_uri(item.thumbnail)}" alt="{html.escape(item.image)}">'
                if item.thumbnail
                else f'<div class="placeholder">{html.escape(item.image)}<br>(no local file)</div>'
            )
            tiles.append(
                f'<div class="tile">{picture}<div>{html.escape(_caption(item))}</div></div>'
            )
        out.append(f'<div class="gallery">{"".join(tiles)}</div>')
    return "\n".join(out)


def _data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode("ascii")


def _relative(path: Path, root: Path) -> str:
    try:
        return Path(path).resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return Path(path).as_posix()


def _inline_html(text: str) -> str:
    """Escape, then the two Markdown marks the report uses: **bold** and `code`."""
    escaped = html.escape(text)
    parts = escaped.split("**")
    escaped = "".join(p if i % 2 == 0 else f"<strong>{p}</strong>" for i, p in enumerate(parts))
    parts = escaped.split("`")
    return "".join(p if i % 2 == 0 else f"<code>{p}</code>" for i, p in enumerate(parts))


def _f(value, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)) or pd.isna(value):
        return ""
    return f"{float(value):.{digits}f}"


def _p(value) -> str:
    if value is None or pd.isna(value):
        return ""
    return "<0.0001" if value < 1e-4 else f"{float(value):.4f}"


def _ci(row: pd.Series, column: str, digits: int = 3) -> str:
    estimate = row[column]
    if pd.isna(estimate):
        return ""
    low, high = row.get(f"{column}_low"), row.get(f"{column}_high")
    if low is None or pd.isna(low):
        return _f(estimate, digits)
    return f"{_f(estimate, digits)} [{_f(low, digits)}, {_f(high, digits)}]"

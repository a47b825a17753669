"""A study's exports as streams of plain rows: its labelled set and its responses.

The REST API, the `export_labelled_set` command, the admin and the analysis loader all read
these generators. Rows are plain dicts of str, int, float, bool and None (JSON-ready), with
exactly the fields listed in `LABELLED_SET_FIELDS` and `RESPONSE_FIELDS`, in that order. The
rows are read through `QuerySet.iterator()` (a server-side cursor on PostgreSQL), so memory stays
flat however large the study.

Labelled set: one row per image of the study's pool (`selectors.pool.study_pool`) × display size
(`Study.display_sizes`), ordered by image and size.

    image            the Image uuid
    url              the display variant at that size (see `url` below)
    sha256           of the original file
    label            real | fake
    generator        its name; None for real images
    category         its name, or None
    split            train | val | test, or None
    size             display size in px (long side)
    width, height, format, bytes
                     the original's native pixel size, format (as Pillow names it) and byte size
    retired          the study's target responses per image is reached: main trials assigned
                     to the image (any participant, any size, either side of a pair) >= target
    n_responses      answered main trials at this size of participants who are not excluded
                     (and not simulated, unless include_simulated)
    n_fake_votes     of those, how many called this image generated
    human_p_fake     n_fake_votes / n_responses; None without responses
    human_majority   real | fake | tie; None without responses
    human_accuracy   share of those votes that match the label; None without responses
    mean_confidence  mean confidence of those responses that rated it; None if none did
    scores           {run name: p_fake} for each detector run that scored this image at this size

In pair mode a response counts for both images of the pair: choosing "left" is a fake vote for
the left image and a real vote for the right one, and the other way round.

Responses: one row per answered trial (every kind), ordered by participant and trial index.

    participant      a pseudonym: a keyed hash of the participant's token (the token itself is a
                     credential and never leaves the server); stable while SECRET_KEY is
    trial            the Trial uuid
    kind             practice | main | attention
    image            the Image uuid (the left image in pair mode)
    image_right      the right image's uuid in pair mode; None otherwise
    size             display size in px
    choice           real | fake, or left | right in pair mode
    confidence       1..k on the study's scale, higher = surer of the choice made; None
    correct          whether the choice was right
    rt_ms            reaction time measured in the browser; None if not reported
    rendered_width, rendered_height, device_pixel_ratio
                     how the browser showed the image; None if not reported
    excluded, exclusion_reason
                     the participant's exclusion (reason "" when not excluded)
    simulated        the participant is simulated (load tests, previews)
    created          when the server stored the response, ISO 8601

Simulated participants are left out of both exports unless `include_simulated=True`; excluded
participants stay in the responses (flagged) but never count in the labelled set's human stats.
"""

import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from operator import itemgetter

from django.core.files.storage import FileSystemStorage, default_storage
from django.db.models import Count, Q, Sum
from django.utils.crypto import salted_hmac
from django.utils.encoding import filepath_to_uri

from studyapp.models import DetectorRun, ImageVariant, Response, Score, Study, Trial
from studyapp.selectors.pool import study_pool

LABELLED_SET_FIELDS = (
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
    "retired",
    "n_responses",
    "n_fake_votes",
    "human_p_fake",
    "human_majority",
    "human_accuracy",
    "mean_confidence",
    "scores",
)

RESPONSE_FIELDS = (
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
    "rendered_width",
    "rendered_height",
    "device_pixel_ratio",
    "excluded",
    "exclusion_reason",
    "simulated",
    "created",
)

SCORE_COLUMN_PREFIX = "score_"
CHUNK_SIZE = 2000

# The CSV exports' column types, as pandas names them: `pd.read_csv(f, dtype=...)` (plus
# `parse_dates=["created"]` for responses). Empty cells are null: NaN in "str" and "float64"
# columns, <NA> in "Int64" ones. `score_<run>` columns are "float64".
LABELLED_SET_CSV_DTYPES = {
    "image": "str",
    "url": "str",
    "sha256": "str",
    "label": "str",
    "generator": "str",
    "category": "str",
    "split": "str",
    "size": "int64",
    "width": "int64",
    "height": "int64",
    "format": "str",
    "bytes": "int64",
    "retired": "bool",
    "n_responses": "int64",
    "n_fake_votes": "int64",
    "human_p_fake": "float64",
    "human_majority": "str",
    "human_accuracy": "float64",
    "mean_confidence": "float64",
}
RESPONSES_CSV_DTYPES = {
    "participant": "str",
    "trial": "str",
    "kind": "str",
    "image": "str",
    "image_right": "str",
    "size": "int64",
    "choice": "str",
    "confidence": "Int64",
    "correct": "bool",
    "rt_ms": "Int64",
    "rendered_width": "Int64",
    "rendered_height": "Int64",
    "device_pixel_ratio": "float64",
    "excluded": "bool",
    "exclusion_reason": "str",
    "simulated": "bool",
    "created": "str",
}

# Which choice is a vote for "generated" for the image on each side of a trial.
_FAKE_VOTES = {"image": ("fake", "left"), "image_right": ("right",)}


@dataclass(frozen=True)
class LabelledSetEntry:
    """A labelled-set row with the storage names of its files (for offline exports)."""

    row: dict
    variant_file: str
    original_file: str


def labelled_set_rows(
    study: Study,
    *,
    include_simulated: bool = False,
    size: int | None = None,
    url: Callable[[str], str] | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> Iterator[dict]:
    """Yields the study's labelled-set rows (fields: `LABELLED_SET_FIELDS`).

    `size` keeps one display size only; `url` turns a variant's storage name into the row's
    `url` (by default `storage_url_maker()`: the storage's URL; the API makes it absolute).
    """
    for entry in labelled_set_entries(
        study, include_simulated=include_simulated, size=size, url=url, chunk_size=chunk_size
    ):
        yield entry.row


def labelled_set_entries(
    study: Study,
    *,
    include_simulated: bool = False,
    size: int | None = None,
    url: Callable[[str], str] | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> Iterator[LabelledSetEntry]:
    """`labelled_set_rows`, each row with the storage names of its variant and original files.

    Four queries, read side by side in image order: the variants (with their images), the
    votes on each side of a trial (grouped by image and size in the database) and the scores.
    """
    url = url or storage_url_maker()
    sizes = _sizes(study, size)
    pool = study_pool(study).values("pk")
    variants = (
        ImageVariant.objects.filter(image__in=pool, size__in=sizes)
        .order_by("image_id", "size")
        .values_list(
            "image_id",
            "size",
            "file",
            "image__original",
            "image__uuid",
            "image__sha256",
            "image__label",
            "image__generator__name",
            "image__category__name",
            "image__split",
            "image__width",
            "image__height",
            "image__format",
            "image__bytes",
        )
        .iterator(chunk_size=chunk_size)
    )
    sides = [
        _ByImage(_votes(study, side, include_simulated).iterator(chunk_size=chunk_size))
        for side in _FAKE_VOTES
    ]
    scores = _ByImage(
        Score.objects.filter(image__in=pool, size__in=sizes)
        .order_by("image_id", "size", "run__name")
        .values_list("image_id", "size", "run__name", "p_fake")
        .iterator(chunk_size=chunk_size)
    )
    target = study.target_responses_per_image
    for image_id, image_variants in itertools.groupby(variants, key=itemgetter(0)):
        assigned = 0
        votes: dict[int, list[int]] = {}  # size -> [n_responses, n_fake_votes, conf_sum, conf_n]
        for side in sides:
            for _, at_size, n, fake, conf_sum, conf_n, n_assigned in side.pop(image_id):
                assigned += n_assigned
                tally = votes.setdefault(at_size, [0, 0, 0, 0])
                tally[0] += n
                tally[1] += fake
                tally[2] += conf_sum or 0
                tally[3] += conf_n
        run_scores: dict[int, dict[str, float]] = {}
        for _, at_size, run, p_fake in scores.pop(image_id):
            run_scores.setdefault(at_size, {})[run] = p_fake
        retired = target is not None and assigned >= target
        for (
            _,
            at_size,
            variant_file,
            original_file,
            uuid,
            sha256,
            label,
            generator,
            category,
            split,
            width,
            height,
            image_format,
            image_bytes,
        ) in image_variants:
            n, fake, conf_sum, conf_n = votes.get(at_size, (0, 0, 0, 0))
            p_fake = fake / n if n else None
            row = {
                "image": str(uuid),
                "url": url(variant_file),
                "sha256": sha256,
                "label": label,
                "generator": generator,
                "category": category,
                "split": split or None,
                "size": at_size,
                "width": width,
                "height": height,
                "format": image_format,
                "bytes": image_bytes,
                "retired": retired,
                "n_responses": n,
                "n_fake_votes": fake,
                "human_p_fake": p_fake,
                "human_majority": _majority(n, fake),
                "human_accuracy": None
                if p_fake is None
                else (p_fake if label == "fake" else 1.0 - p_fake),
                "mean_confidence": conf_sum / conf_n if conf_n else None,
                "scores": run_scores.get(at_size, {}),
            }
            yield LabelledSetEntry(row, variant_file, original_file)


def labelled_set_runs(study: Study, *, size: int | None = None) -> list[str]:
    """Names of the detector runs that scored any row of the labelled set, by name: the CSV's
    `score_<run>` columns."""
    scored = Score.objects.filter(
        image__in=study_pool(study).values("pk"), size__in=_sizes(study, size)
    )
    return list(
        DetectorRun.objects.filter(pk__in=scored.values("run_id"))
        .order_by("name")
        .values_list("name", flat=True)
    )


def labelled_set_columns(runs: Iterable[str]) -> list[str]:
    """The CSV columns: the row fields with `scores` spread into one column per run."""
    return [*LABELLED_SET_FIELDS[:-1], *(SCORE_COLUMN_PREFIX + run for run in runs)]


def labelled_set_flat_rows(rows: Iterable[dict]) -> Iterator[dict]:
    """Rows in the CSV's shape: `scores` becomes `score_<run>` keys."""
    for row in rows:
        flat = dict(row)
        for run, p_fake in flat.pop("scores").items():
            flat[SCORE_COLUMN_PREFIX + run] = p_fake
        yield flat


def responses_rows(
    study: Study, *, include_simulated: bool = False, chunk_size: int = CHUNK_SIZE
) -> Iterator[dict]:
    """Yields one row per response of the study (fields: `RESPONSE_FIELDS`)."""
    responses = Response.objects.filter(trial__participant__study=study)
    if not include_simulated:
        responses = responses.filter(trial__participant__simulated=False)
    rows = (
        responses.order_by("trial__participant_id", "trial__index")
        .values_list(
            "trial__participant__token",
            "trial__uuid",
            "trial__kind",
            "trial__image__uuid",
            "trial__image_right__uuid",
            "trial__size",
            "choice",
            "confidence",
            "correct",
            "rt_ms",
            "rendered_width",
            "rendered_height",
            "device_pixel_ratio",
            "trial__participant__excluded",
            "trial__participant__exclusion_reason",
            "trial__participant__simulated",
            "created",
        )
        .iterator(chunk_size=chunk_size)
    )
    token, pseudonym = None, ""
    for row in rows:
        if row[0] != token:  # rows come participant by participant: hash once per participant
            token, pseudonym = row[0], participant_pseudonym(row[0])
        yield {
            "participant": pseudonym,
            "trial": str(row[1]),
            "kind": row[2],
            "image": str(row[3]),
            "image_right": None if row[4] is None else str(row[4]),
            "size": row[5],
            "choice": row[6],
            "confidence": row[7],
            "correct": row[8],
            "rt_ms": row[9],
            "rendered_width": row[10],
            "rendered_height": row[11],
            "device_pixel_ratio": row[12],
            "excluded": row[13],
            "exclusion_reason": row[14],
            "simulated": row[15],
            "created": row[16].isoformat(),
        }


def storage_url_maker() -> Callable[[str], str]:
    """`default_storage.url`, with plain local files' URLs built without urljoin (a third of an
    export's time went there)."""
    if default_storage.__class__ is FileSystemStorage:  # exactly: a subclass may override url()
        base_url = default_storage.base_url  # always ends with "/"
        return lambda name: base_url + filepath_to_uri(name).lstrip("/")
    return default_storage.url


def participant_pseudonym(token: object) -> str:
    """A participant's id in exports: a keyed hash of the token, 16 hex digits."""
    return salted_hmac("beholder.export.participant", str(token)).hexdigest()[:16]


def _sizes(study: Study, size: int | None) -> list[int]:
    sizes = sorted(set(study.display_sizes))
    return [s for s in sizes if s == size] if size is not None else sizes


def _votes(study: Study, side: str, include_simulated: bool):
    """Per image on this side of the study's main trials and per size: counted responses, fake
    votes, confidence sum and count, and all assignments (for retirement), in image order."""
    counted = Q(response__isnull=False, participant__excluded=False)
    if not include_simulated:
        counted &= Q(participant__simulated=False)
    fake = counted & Q(response__choice__in=_FAKE_VOTES[side])
    return (
        Trial.objects.filter(
            participant__study=study, kind=Trial.Kind.MAIN, **{f"{side}__isnull": False}
        )
        .values(side, "size")
        .annotate(
            n=Count("pk", filter=counted),
            fake=Count("pk", filter=fake),
            conf_sum=Sum("response__confidence", filter=counted),
            conf_n=Count("response__confidence", filter=counted),
            assigned=Count("pk"),
        )
        .order_by(side, "size")
        .values_list(side, "size", "n", "fake", "conf_sum", "conf_n", "assigned")
    )


def _majority(n: int, fake: int) -> str | None:
    if not n:
        return None
    if 2 * fake == n:
        return "tie"
    return "fake" if 2 * fake > n else "real"


class _ByImage:
    """Reads a stream of tuples sorted by image id (their first item) alongside another sorted
    stream: `pop(image_id)` returns that image's tuples, skipping those of smaller ids."""

    def __init__(self, rows: Iterator[tuple]) -> None:
        self._groups = itertools.groupby(rows, key=itemgetter(0))
        self._next = next(self._groups, None)

    def pop(self, image_id: int) -> list[tuple]:
        while self._next is not None and self._next[0] < image_id:
            self._next = next(self._groups, None)
        if self._next is None or self._next[0] != image_id:
            return []
        rows = list(self._next[1])
        self._next = next(self._groups, None)
        return rows

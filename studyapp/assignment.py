"""Which images each participant sees: a pure planning function over plain values.

Main trials go to the images with the fewest assignments so far across the study (so response
counts stay within one of each other until images retire), with ties broken first towards the
generators and categories this participant has seen least, then by the participant's seeded
random stream. No image appears twice for a participant; the real fraction is exact up to
rounding; display sizes rotate evenly for each participant and, per image, go to the size it has
been shown at least. Pair mode pairs each generated image with a real one of the same category.
"""

import random
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

REAL, FAKE = "real", "fake"


@dataclass(frozen=True)
class PoolImage:
    id: int
    label: str
    generator: int | None
    category: int | None


@dataclass(frozen=True)
class PlannedTrial:
    kind: str  # practice | main | attention
    image: int
    size: int
    image_right: int | None = None
    expected_choice: str = ""  # instructed-response attention checks only


@dataclass(frozen=True)
class Design:
    mode: str  # single | pair
    n_main: int
    n_practice: int
    n_attention: int
    real_fraction: float
    sizes: tuple[int, ...]
    target_per_image: int | None = None


class PoolExhausted(Exception):
    """Too few images left (after retirement) to give a participant a full set."""

    def __init__(self, what: str = "images") -> None:
        super().__init__(f"not enough {what}")
        self.what = what


class _LeastUsedPicker:
    """Picks images level by level of assignment count; within a level, from the generator and
    category this participant has had least."""

    def __init__(
        self,
        images: Iterable[PoolImage],
        counts: Counter,
        rng: random.Random,
        what: str,
        seen_categories: Counter | None = None,
    ) -> None:
        self.what = what
        self._levels: dict[int, list[PoolImage]] = {}
        shuffled = list(images)
        rng.shuffle(shuffled)
        for image in shuffled:
            self._levels.setdefault(counts[image.id], []).append(image)
        self._seen_generators: Counter = Counter()
        # Shared between a participant's real and generated pickers: categories balance overall.
        self._seen_categories = Counter() if seen_categories is None else seen_categories

    def pick(self, category: int | None = None, *, same_category_only: bool = False) -> PoolImage:
        for level in sorted(self._levels):
            candidates = self._levels[level]
            if same_category_only:
                candidates = [i for i in candidates if i.category == category]
            if not candidates:
                continue
            # Prefer what this participant has seen least, then what this level has most left of,
            # so the level's remainder stays spread over generators and categories and the last
            # images of a level don't all come from one of them.
            left_generators = Counter(i.generator for i in candidates)
            left_categories = Counter(i.category for i in candidates)
            # min() keeps the first of equals, and the lists are in seeded-random order.
            chosen = min(
                candidates,
                key=lambda i: (
                    self._seen_generators[i.generator],
                    -left_generators[i.generator],
                    self._seen_categories[i.category],
                    -left_categories[i.category],
                ),
            )
            self._levels[level].remove(chosen)
            self._seen_generators[chosen.generator] += 1
            self._seen_categories[chosen.category] += 1
            return chosen
        raise PoolExhausted(self.what)


def plan_trials(
    *,
    design: Design,
    pool: list[PoolImage],
    practice_pool: list[PoolImage],
    check_pool: list[PoolImage],
    counts: Counter,
    size_counts: Counter,
    rng: random.Random,
) -> list[PlannedTrial]:
    """Practice trials first, then main trials with attention checks spread among them.

    `counts[image_id]` and `size_counts[image_id, size]` are the study's main-trial assignments so
    far; images at or over `design.target_per_image` have retired and are not drawn.
    """
    if design.target_per_image is not None:
        pool = [i for i in pool if counts[i.id] < design.target_per_image]
    main = _plan_main(design, pool, counts, size_counts, rng)
    used = {t.image for t in main} | {t.image_right for t in main if t.image_right is not None}
    practice = _plan_practice(design, [i for i in practice_pool if i.id not in used], rng)
    used |= {t.image for t in practice} | {t.image_right for t in practice if t.image_right}
    checks = _plan_checks(design, check_pool, practice_pool + pool, used, rng)
    return practice + _interleave(main, checks, rng)


def _plan_main(
    design: Design, pool: list[PoolImage], counts: Counter, size_counts: Counter, rng: random.Random
) -> list[PlannedTrial]:
    n_real = round(design.n_main * design.real_fraction)
    seen_categories: Counter = Counter()
    reals = _LeastUsedPicker(
        [i for i in pool if i.label == REAL], counts, rng, "real images", seen_categories
    )
    fakes = _LeastUsedPicker(
        [i for i in pool if i.label == FAKE], counts, rng, "generated images", seen_categories
    )
    sizes = _size_slots(design.sizes, design.n_main, rng)
    trials: list[PlannedTrial] = []
    if design.mode == "pair":
        for _ in range(design.n_main):
            fake = fakes.pick()
            try:
                real = reals.pick(fake.category, same_category_only=True)
            except PoolExhausted:
                real = reals.pick()
            left, right = (fake, real) if rng.random() < 0.5 else (real, fake)
            size = _take_size(sizes, [left.id, right.id], size_counts, rng)
            trials.append(PlannedTrial("main", left.id, size, image_right=right.id))
    else:
        picks = [reals.pick() for _ in range(n_real)]
        picks += [fakes.pick() for _ in range(design.n_main - n_real)]
        for image in picks:
            trials.append(
                PlannedTrial("main", image.id, _take_size(sizes, [image.id], size_counts, rng))
            )
    rng.shuffle(trials)
    return trials


def _plan_practice(design: Design, pool: list[PoolImage], rng: random.Random) -> list[PlannedTrial]:
    """Alternating real and generated images (falling back to whichever label is left)."""
    pickers = {
        label: _LeastUsedPicker(
            [i for i in pool if i.label == label], Counter(), rng, "practice images"
        )
        for label in (REAL, FAKE)
    }

    def pick(label: str) -> PoolImage:
        try:
            return pickers[label].pick()
        except PoolExhausted:
            return pickers[FAKE if label == REAL else REAL].pick()

    sizes = _size_slots(design.sizes, design.n_practice, rng)
    trials = []
    for i in range(design.n_practice):
        if design.mode == "pair":
            fake, real = pick(FAKE), pick(REAL)
            left, right = (fake, real) if rng.random() < 0.5 else (real, fake)
            trials.append(PlannedTrial("practice", left.id, sizes[i], image_right=right.id))
        else:
            trials.append(PlannedTrial("practice", pick((REAL, FAKE)[i % 2]).id, sizes[i]))
    return trials


def _plan_checks(
    design: Design,
    check_pool: list[PoolImage],
    fallback_pool: list[PoolImage],
    used: set[int],
    rng: random.Random,
) -> list[PlannedTrial]:
    """Image checks (obviously real or generated images the researcher marked) where there are
    enough, else instructed responses ("answer Real for this one") on unused images."""
    size = design.sizes[0]
    marked = [i for i in check_pool if i.id not in used]
    rng.shuffle(marked)
    if design.mode == "single" and len(marked) >= design.n_attention:
        return [PlannedTrial("attention", i.id, size) for i in marked[: design.n_attention]]
    spare = [i for i in fallback_pool if i.id not in used]
    rng.shuffle(spare)
    per_trial = 2 if design.mode == "pair" else 1
    if len(spare) < per_trial * design.n_attention:
        raise PoolExhausted("images for attention checks")
    choices = ("left", "right") if design.mode == "pair" else (REAL, FAKE)
    trials = []
    for n in range(design.n_attention):
        images = spare[n * per_trial : (n + 1) * per_trial]
        trials.append(
            PlannedTrial(
                "attention",
                images[0].id,
                size,
                image_right=images[1].id if per_trial == 2 else None,
                expected_choice=rng.choice(choices),
            )
        )
    return trials


def _interleave(
    main: list[PlannedTrial], checks: list[PlannedTrial], rng: random.Random
) -> list[PlannedTrial]:
    """Spreads the checks over the main block, one in each of len(checks) equal stretches."""
    if not checks:
        return main
    stretch = len(main) / len(checks)
    positions = [int(k * stretch + rng.uniform(0.25, 0.75) * stretch) for k in range(len(checks))]
    result = list(main)
    for offset, (position, check) in enumerate(zip(positions, checks, strict=True)):
        result.insert(min(position + offset, len(result)), check)
    return result


def _size_slots(sizes: tuple[int, ...], n: int, rng: random.Random) -> list[int]:
    slots = [sizes[k % len(sizes)] for k in range(n)]
    rng.shuffle(slots)
    return slots


def _take_size(
    slots: list[int], image_ids: list[int], size_counts: Counter, rng: random.Random
) -> int:
    """Takes a remaining size slot: the size these images have been shown at least."""
    options = sorted(
        set(slots), key=lambda s: (sum(size_counts[i, s] for i in image_ids), rng.random())
    )
    slots.remove(options[0])
    return options[0]

"""Live progress of a study, for the admin."""

from collections import Counter
from dataclasses import dataclass

from django.db.models import Count, Q

from studyapp.models import Response, Study, Trial
from studyapp.selectors.pool import study_pool


@dataclass(frozen=True)
class StudyProgress:
    started: int
    finished: int
    excluded: int
    responses: int
    pool_images: int
    # (number of main responses, number of pool images with that many), ascending
    responses_per_image: list[tuple[int, int]]


def study_progress(study: Study) -> StudyProgress:
    people = study.participants.filter(simulated=False).aggregate(
        started=Count("pk"),
        finished=Count("pk", filter=Q(finished_at__isnull=False)),
        excluded=Count("pk", filter=Q(excluded=True)),
    )
    answered = Response.objects.filter(
        trial__participant__study=study, trial__participant__simulated=False
    )
    per_image: Counter = Counter()
    main = answered.filter(trial__kind=Trial.Kind.MAIN)
    for left, right in main.values_list("trial__image_id", "trial__image_right_id"):
        per_image[left] += 1
        if right is not None:
            per_image[right] += 1
    pool = list(study_pool(study).values_list("pk", flat=True))
    histogram = Counter(per_image[pk] for pk in pool)
    return StudyProgress(
        started=people["started"],
        finished=people["finished"],
        excluded=people["excluded"],
        responses=answered.count(),
        pool_images=len(pool),
        responses_per_image=sorted(histogram.items()),
    )

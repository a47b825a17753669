"""Starting participants: consent, Prolific-style resume, and trial assignment up front."""

import random
from collections import Counter

from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.crypto import salted_hmac

from studyapp.assignment import Design, PoolExhausted, PoolImage, plan_trials
from studyapp.errors import ConsentRequired, StudyFull, StudyNotOpen
from studyapp.models import Image, ImageVariant, Participant, Study, Trial
from studyapp.selectors.pool import study_pool


def external_id_hash(study: Study, external_id: str) -> str:
    """Keyed hash of e.g. a PROLIFIC_PID: recognises a returning person, keeps no raw id."""
    return salted_hmac("beholder.participant.external_id", f"{study.pk}:{external_id}").hexdigest()


def participant_start(
    *,
    study: Study,
    consent: bool,
    external_id: str = "",
    entry_params: dict | None = None,
    user_agent: str = "",
    simulated: bool = False,
    preview: bool = False,
) -> tuple[Participant, bool]:
    """Returns (participant, created). A known external id resumes its participant instead.

    `preview` lets staff try a draft study; such participants are marked simulated.
    """
    if not consent:
        raise ConsentRequired("Consent is required to take part.")
    id_hash = external_id_hash(study, external_id) if external_id else ""
    with transaction.atomic():
        # One start at a time per study, so assignment counts are never read stale.
        study = Study.objects.select_for_update().get(pk=study.pk)
        if id_hash:
            existing = Participant.objects.filter(study=study, external_id_hash=id_hash).first()
            if existing is not None:
                return existing, False
        if study.status != Study.Status.LIVE and not (
            preview and study.status == Study.Status.DRAFT
        ):
            raise StudyNotOpen(f"The study “{study.title}” is not open.")
        if (
            study.max_participants is not None
            and study.participants.filter(simulated=False).count() >= study.max_participants
        ):
            raise StudyFull("This study has all the participants it needs. Thank you!")
        participant = Participant.objects.create(
            study=study,
            external_id_hash=id_hash,
            entry_params=entry_params or {},
            consented_at=timezone.now(),
            user_agent=user_agent[:500],
            simulated=simulated or preview,
        )
        trials = _assign_trials(study, participant)
        participant.n_trials = len(trials)
        participant.save(update_fields=["n_trials"])
    return participant, True


def study_design(study: Study) -> Design:
    return Design(
        mode=study.mode,
        n_main=study.trials_per_participant,
        n_practice=study.practice_trials,
        n_attention=study.attention_checks,
        real_fraction=study.real_fraction,
        sizes=tuple(study.display_sizes),
        target_per_image=study.target_responses_per_image,
    )


def _assign_trials(study: Study, participant: Participant) -> list[Trial]:
    design = study_design(study)
    # The n-th participant of a study always gets the same random stream (reproducible).
    ordinal = Participant.objects.filter(study=study, pk__lt=participant.pk).count()
    rng = random.Random(f"{study.seed}:{ordinal}")
    counts, size_counts = _assignment_counts(study)
    try:
        plan = plan_trials(
            design=design,
            pool=_pool_values(study_pool(study)),
            practice_pool=_pool_values(study.practice_images.all()),
            check_pool=_pool_values(
                Image.objects.filter(dataset__in=study.datasets.all(), attention_check=True)
            ),
            counts=counts,
            size_counts=size_counts,
            rng=rng,
        )
    except PoolExhausted as exc:
        raise StudyFull(
            f"This study cannot take more participants: {exc} left to show "
            "(images retire once they have enough responses)."
        ) from None
    image_ids = {t.image for t in plan} | {t.image_right for t in plan if t.image_right}
    variants = {
        (image_id, size): pk
        for pk, image_id, size in ImageVariant.objects.filter(
            image_id__in=image_ids, size__in=design.sizes
        ).values_list("pk", "image_id", "size")
    }
    trials = [
        Trial(
            participant=participant,
            index=index,
            kind=planned.kind,
            size=planned.size,
            image_id=planned.image,
            variant_id=variants[planned.image, planned.size],
            image_right_id=planned.image_right,
            variant_right_id=variants[planned.image_right, planned.size]
            if planned.image_right
            else None,
            expected_choice=planned.expected_choice,
        )
        for index, planned in enumerate(plan)
    ]
    return Trial.objects.bulk_create(trials)


def _assignment_counts(study: Study) -> tuple[Counter, Counter]:
    """Main-trial assignments so far, per image and per image × size, counted in the database."""
    counts: Counter = Counter()
    size_counts: Counter = Counter()
    main = Trial.objects.filter(participant__study=study, kind=Trial.Kind.MAIN)
    grouped = main.values_list("image_id", "image_right_id", "size").annotate(n=Count("pk"))
    for image, image_right, size, n in grouped.order_by():
        for image_id in (image, image_right):
            if image_id is not None:
                counts[image_id] += n
                size_counts[image_id, size] += n
    return counts, size_counts


def _pool_values(images) -> list[PoolImage]:
    return [
        PoolImage(pk, label, generator, category)
        for pk, label, generator, category in images.values_list(
            "pk", "label", "generator_id", "category_id"
        ).order_by("pk")
    ]

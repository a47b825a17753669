"""A study's image pool: what its main trials (and its labelled set) draw from."""

from django.db.models import Count, Q, QuerySet

from studyapp.models import Image, Study


def study_pool(study: Study) -> QuerySet[Image]:
    """Images of the study's datasets, narrowed by its generator/category/split filters, that have
    a variant at every display size, less practice images and attention-check images.

    Real images pass a generator filter: they have no generator, and a study of "SD 1.4 vs real"
    names only the generator.
    """
    images = Image.objects.filter(dataset__in=study.datasets.all(), attention_check=False)
    generators = list(study.generators.values_list("pk", flat=True))
    if generators:
        images = images.filter(Q(label="real") | Q(generator__in=generators))
    categories = list(study.categories.values_list("pk", flat=True))
    if categories:
        images = images.filter(category__in=categories)
    if study.split:
        images = images.filter(split=study.split)
    sizes = list(study.display_sizes)
    return (
        images.exclude(practice_in_studies=study)
        .annotate(_n_sizes=Count("variants", filter=Q(variants__size__in=sizes), distinct=True))
        .filter(_n_sizes=len(sizes))
    )

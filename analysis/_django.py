"""`--study SLUG`: a study's tables straight from the platform's database.

The one module of `analysis` that touches Django, imported only for `--study`. It reads the very
rows the REST exports stream (studyapp's export selectors), so an analysis from the database and
one from downloaded exports see the same data.
"""

import os
from contextlib import suppress

import pandas as pd

from analysis.loaders import AnalysisInputError


def load_study(slug: str, *, include_simulated: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(responses, images) of the study, with a local `path` per image where storage has one."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studyapp.settings")
    import django

    django.setup()
    from django.core.files.storage import default_storage

    from studyapp.models import Study
    from studyapp.selectors.exports import labelled_set_entries, responses_rows

    try:
        study = Study.objects.get(slug=slug)
    except Study.DoesNotExist:
        raise AnalysisInputError(f"no study with slug {slug!r}") from None
    responses = pd.DataFrame.from_records(
        list(responses_rows(study, include_simulated=include_simulated))
    )
    if responses.empty:
        raise AnalysisInputError(f"study {slug!r} has no responses to analyse yet")
    images = []
    for entry in labelled_set_entries(study, include_simulated=include_simulated):
        row = dict(entry.row)
        # A local file for the report's gallery; on object storage it falls back to the URL.
        with suppress(NotImplementedError):
            row["path"] = default_storage.path(entry.variant_file)
        images.append(row)
    return responses, pd.DataFrame.from_records(images)

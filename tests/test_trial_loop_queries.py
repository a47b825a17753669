"""One next + response cycle runs a constant number of queries, whatever the study's size."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import DatasetFactory, ImageFactory, StudyFactory
from tests.volunteer import Volunteer

pytestmark = pytest.mark.django_db


def cycle_queries(client, slug: str, n_images: int, n_earlier_participants: int) -> int:
    dataset = DatasetFactory(name=f"d-{slug}")
    for i in range(n_images):
        ImageFactory(dataset=dataset, label=("real", "fake")[i % 2])
    StudyFactory(slug=slug, datasets=[dataset], trials_per_participant=6)
    for _ in range(n_earlier_participants):
        Volunteer(client, slug).start()
        # answered studies add rows the loop must not scan
    earlier = Volunteer(client, slug)
    earlier.start()
    earlier.run_to_end()

    volunteer = Volunteer(client, slug)
    volunteer.start()
    volunteer.answer(volunteer.next()["trial"], "fake")  # warm: not the first trial
    with CaptureQueriesContext(connection) as queries:
        payload = volunteer.next()
        response = volunteer.answer(payload["trial"], "real")
    assert response.status_code == 201
    return len(queries)


def test_a_cycle_costs_the_same_queries_for_small_and_large_studies(client) -> None:
    small = cycle_queries(client, "small", n_images=12, n_earlier_participants=0)
    large = cycle_queries(client, "large", n_images=120, n_earlier_participants=15)
    assert small == large
    if connection.vendor == "postgresql":
        # next: one statement reads the trial and marks it presented; response: one reads the
        # trial, one advances the participant and stores the answer
        assert small == 3, small
    else:
        # next: read, mark presented; response: read, then advance and insert in a transaction
        # (which the test's own transaction turns into a savepoint and its release)
        assert small == 7, small

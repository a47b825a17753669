"""The OpenAPI schema and its docs, and a schema-driven fuzz run (schemathesis) against a live
server on loopback: every operation (researcher and participant), a bounded number of generated
requests each (valid, then invalid), with a staff token; no response may be a 5xx or disagree
with the schema (status, content type, headers, body)."""

import re
import time

import pytest
import schemathesis
from django.conf import settings as django_settings
from django.contrib.staticfiles import finders
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from rest_framework.test import APIClient
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from studyapp.services.participants import participant_start
from tests.export_fixtures import single_mode_study, token_header, user

EXAMPLES_PER_OPERATION = 15  # per operation and per mode (valid data, then invalid data)
SECONDS_PER_OPERATION = 20.0
# What the acceptance asks: no server error, and every response as the schema documents it.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def _fuzz(operation, mode: GenerationMode, fixed_path: dict, auth: str) -> None:
    """Sends up to EXAMPLES_PER_OPERATION generated requests (fewer if the time runs out)."""
    stop_at = time.monotonic() + SECONDS_PER_OPERATION
    strategy = operation.as_strategy(
        generation_mode=mode, path_parameters=fixed_path, headers={"Authorization": auth}
    )

    @given(case=strategy)
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        derandomize=True,  # the same requests on every run: CI failures reproduce
        suppress_health_check=list(HealthCheck),
    )
    def send(case) -> None:
        if time.monotonic() < stop_at:
            case.call_and_validate(checks=CHECKS, timeout=30)

    send()


@pytest.mark.django_db(transaction=True)
def test_fuzzing_the_api_finds_no_server_error_and_no_schema_violation(
    live_server,
) -> None:
    scenario = single_mode_study()
    auth = token_header(user("fuzz-staff", staff=True))
    study = scenario.study
    # a participant of its own, on a study that still takes them
    study.target_responses_per_image, study.trials_per_participant = None, 2
    study.practice_trials = study.attention_checks = 0
    study.save()
    participant, _ = participant_start(study=study, consent=True)
    # Generated slugs and uuids would only ever find 404s: point paths at what exists.
    known = {
        "slug": scenario.study.slug,
        "uuid": str(scenario.images["fake_a"].uuid),
        "token": str(participant.token),
        "trial": str(participant.trials.get(index=0).uuid),
    }
    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/schema/")
    failures, tried = [], []

    for result in schema.get_all_operations():
        operation = result.ok()
        names = {parameter.name for parameter in operation.path_parameters}
        fixed_path = {name: value for name, value in known.items() if name in names}
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            tried.append(f"{operation.label} ({mode})")
            try:
                _fuzz(operation, mode, fixed_path, auth)
            except Unsatisfiable:
                assert mode == GenerationMode.NEGATIVE, operation.label  # nothing left to break
            except (Exception, FailureGroup) as exc:  # collect all, then fail with every finding
                failures.append(f"{operation.label} ({mode}): {exc}")

    # studies, one study, labelled set, responses, images, one image; start, next, response
    assert len(tried) == 2 * 9
    assert not failures, "\n\n".join(failures)


@pytest.mark.django_db
def test_schema_documents_the_researcher_endpoints_and_their_rows() -> None:
    response = APIClient().get("/api/schema/", {"format": "json"})

    document = response.json()
    paths = document["paths"]
    for path in (
        "/api/v1/studies/",
        "/api/v1/studies/{slug}/",
        "/api/v1/studies/{slug}/labelled-set",
        "/api/v1/studies/{slug}/responses",
        "/api/v1/images/",
        "/api/v1/images/{uuid}/",
    ):
        assert {"tokenAuth": []} in paths[path]["get"]["security"], path
        assert {"401", "403", "404"} <= set(paths[path]["get"]["responses"]), path
    labelled = paths["/api/v1/studies/{slug}/labelled-set"]["get"]
    assert set(labelled["responses"]["200"]["content"]) == {
        "application/json",
        "application/x-ndjson",
        "text/csv",
    }
    params = {p["name"]: p for p in labelled["parameters"]}
    assert set(params["format"]["schema"]["enum"]) == {"json", "jsonl", "csv"}
    assert {"include_simulated", "size"} <= set(params)
    row = document["components"]["schemas"]["LabelledSetRow"]
    assert row["properties"]["scores"]["additionalProperties"]["type"] == "number"
    assert row["properties"]["human_majority"]["nullable"] is True
    image_filters = {p["name"] for p in paths["/api/v1/images/"]["get"]["parameters"]}
    assert {"dataset", "label", "generator", "category", "split", "size", "cursor"} <= (
        image_filters
    )


@pytest.mark.django_db
def test_the_docs_page_works_offline() -> None:
    page = APIClient().get("/api/docs/")

    html = page.content.decode()
    assert page.status_code == 200 and "swagger-ui" in html
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources and all(not s.startswith(("http:", "https:", "//")) for s in sources), sources
    for source in sources:  # each one a file the sidecar ships, found by staticfiles
        if source.startswith(django_settings.STATIC_URL):
            assert finders.find(source.removeprefix(django_settings.STATIC_URL)), source

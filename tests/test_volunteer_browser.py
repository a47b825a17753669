"""A volunteer in a real browser: consent, instructions, practice with feedback, main trials by
keyboard with a reload in the middle, and the end page with the completion code."""

import re

import pytest
from django.core.management import call_command

from studyapp.models import Participant, Response, Study
from tests.browser import ARTIFACTS, chromium

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

HOSTILE = (
    "We study how people see AI images. <script>window.pwned = 1</script>"
    '<img src=x onerror="window.pwned = 2"> [our terms](javascript:window.pwned=3)'
)


@pytest.fixture
def study(sample_set, monkeypatch) -> Study:
    # Playwright's sync API runs an event loop in this thread; the ORM calls here stay synchronous.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    call_command("import_images", str(sample_set.manifest_path), "--dataset", "sample")
    call_command(
        "create_study", "browser", "--dataset", "sample", "--trials", "6", "--sizes", "256",
        "--practice", "2", "--attention", "1", "--confidence-scale", "3", "--live",
    )  # fmt: skip
    study = Study.objects.get(slug="browser")
    study.consent_text = HOSTILE
    study.save()
    return study


def wait_for_trial(page, index: int, of: int) -> None:
    page.wait_for_function(
        "([i, n]) => document.querySelector('.progress-text')?.textContent === `${i} / ${n}`"
        " && !document.querySelector('#screen-trial').hidden"
        " && document.querySelector('.stage img')?.complete"
        " && !document.querySelector('.choice').disabled",
        arg=[index, of],
    )


def test_a_volunteer_completes_a_study_by_keyboard_and_resumes_after_reload(
    live_server, study
) -> None:
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1000, "height": 800})
        page.goto(f"{live_server.url}/s/browser/?PROLIFIC_PID=pid-42&STUDY_ID=st&SESSION_ID=se")

        assert page.locator("#screen-consent").is_visible()
        page.screenshot(path=str(ARTIFACTS / "volunteer-consent.png"))
        assert "We study how people see AI images." in page.locator("#screen-consent").inner_text()
        page.click("#consent-accept")
        page.locator("#screen-instructions").wait_for()
        assert "F" in page.locator(".keys").inner_text()
        page.click("#instructions-start")

        n_trials = Participant.objects.get().n_trials
        assert n_trials == 9  # 2 practice + 6 main + 1 attention check
        for index in range(n_trials):
            wait_for_trial(page, index, n_trials)
            kind = Participant.objects.get().trials.get(index=index).kind
            if index == 2:
                page.screenshot(path=str(ARTIFACTS / "volunteer-trial.png"))
            if index == 4:  # a reload mid-study resumes at the same trial, without consent again
                page.reload()
                wait_for_trial(page, index, n_trials)
                assert page.locator("#screen-consent").is_hidden()
            page.keyboard.press("j" if index % 2 else "f")
            page.locator(".confidence").wait_for()
            page.keyboard.press("2")
            if kind == "practice":
                feedback = page.locator(".feedback")
                feedback.wait_for()
                assert feedback.inner_text() in ("Correct!", "Not quite.")

        page.locator("#screen-end").wait_for()
        code = page.locator("#completion-code").inner_text()
        assert re.search(
            r"You judged \d of 6 images correctly\.", page.locator("#own-score").inner_text()
        )
        assert page.evaluate("window.pwned") is None  # the study's hostile text stayed inert
        page.screenshot(path=str(ARTIFACTS / "volunteer-end.png"))

    participant = Participant.objects.get()
    assert code == participant.completion_code
    assert code in (study.completion_code, study.excluded_completion_code)
    assert participant.entry_params == {"study_id": "st", "session_id": "se"}
    responses = Response.objects.filter(trial__participant=participant)
    assert responses.count() == n_trials  # nothing lost or asked twice across the reload
    for response in responses:
        assert response.confidence == 2 and response.rt_ms is not None and response.rt_ms >= 0
        assert response.rendered_width == 256 and response.device_pixel_ratio == 1


def test_pair_mode_on_a_phone_with_timed_exposure_and_taps(
    live_server, sample_set, monkeypatch
) -> None:
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    call_command("import_images", str(sample_set.manifest_path), "--dataset", "sample")
    call_command(
        "create_study", "pairs", "--dataset", "sample", "--trials", "3", "--sizes", "256",
        "--practice", "0", "--attention", "0", "--mode", "pair", "--exposure-ms", "300", "--live",
    )  # fmt: skip
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 390, "height": 844}, has_touch=True)
        page.goto(f"{live_server.url}/s/pairs/")
        page.tap("#consent-accept")
        page.tap("#instructions-start")
        for index in range(3):
            wait_for_trial(page, index, 3)
            frames = page.locator(".stage .frame")
            assert frames.count() == 2
            page.wait_for_function("() => document.querySelectorAll('.frame.masked').length === 2")
            if index == 0:
                page.screenshot(path=str(ARTIFACTS / "volunteer-pair-phone.png"))
                box = frames.first.bounding_box()
                assert box["x"] >= 0 and box["x"] + box["width"] <= 390  # fits the phone screen
            frames.nth(index % 2).tap()  # the image itself is the answer
        page.locator("#screen-end").wait_for()

    choices = list(Response.objects.order_by("trial__index").values_list("choice", flat=True))
    assert choices == ["left", "right", "left"]

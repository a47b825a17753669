"""Simulated volunteers: they go through the participant API exactly as the page does, answering
correctly with a chosen probability (per generator if asked). For pilots, power checks, demos
and load tests; their participants are marked simulated and left out of analyses by default."""

import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from studyapp.models import Participant, Trial

# post(url, body) -> (status, json); get(url) -> (status, json)
Post = Callable[[str, dict], tuple[int, dict]]
Get = Callable[[str], tuple[int, dict]]


@dataclass(frozen=True)
class Behaviour:
    accuracy: float = 0.7
    by_generator: Mapping[str, float] | None = None
    median_rt_ms: float = 1400.0


@dataclass
class SimulationReport:
    participants: int = 0
    responses: int = 0
    correct: int = 0


def simulate_volunteers(
    *, slug: str, n: int, behaviour: Behaviour, post: Post, get: Get, seed: int = 0
) -> SimulationReport:
    rng = random.Random(seed)
    report = SimulationReport()
    for _ in range(n):
        status, started = post(f"/api/v1/studies/{slug}/participants", {"consent": True})
        if status not in (200, 201):
            raise RuntimeError(f"could not start a participant: {status} {started}")
        token = started["participant"]
        Participant.objects.filter(token=token).update(simulated=True)
        report.participants += 1
        while True:
            status, trial = get(f"/api/v1/participants/{token}/next")
            if status != 200:
                raise RuntimeError(f"next failed: {status} {trial}")
            if trial.get("done"):
                break
            choice, correct = _answer(trial["trial"], behaviour, rng)
            body = {
                "participant": token,
                "choice": choice,
                "rt_ms": round(behaviour.median_rt_ms * math.exp(rng.gauss(0, 0.4))),
                "confidence": _confidence(trial.get("confidence_scale"), correct, rng),
            }
            status, answer = post(f"/api/v1/trials/{trial['trial']}/response", body)
            if status not in (200, 201):
                raise RuntimeError(f"answer refused: {status} {answer}")
            report.responses += 1
            report.correct += correct
    return report


def _answer(trial_uuid: str, behaviour: Behaviour, rng: random.Random) -> tuple[str, bool]:
    """The simulated person's choice: right with the behaviour's probability for this image."""
    trial = Trial.objects.select_related("image__generator", "image_right__generator").get(
        uuid=trial_uuid
    )
    if trial.expected_choice:
        right = trial.expected_choice
        options = ("left", "right") if trial.image_right_id else ("real", "fake")
        fake_image = None
    elif trial.image_right_id:
        left_is_fake = trial.image.label == "fake"
        fake_image = trial.image if left_is_fake else trial.image_right
        right, options = ("left" if left_is_fake else "right"), ("left", "right")
    else:
        fake_image = trial.image if trial.image.label == "fake" else None
        right, options = trial.image.label, ("real", "fake")
    p = behaviour.accuracy
    if fake_image is not None and behaviour.by_generator and fake_image.generator:
        p = behaviour.by_generator.get(fake_image.generator.name, p)
    correct = rng.random() < p
    wrong = options[1] if right == options[0] else options[0]
    return (right if correct else wrong), correct


def _confidence(scale: int | None, correct: bool, rng: random.Random) -> int | None:
    """Surer when right, as people roughly are."""
    if not scale:
        return None
    centre = 0.7 if correct else 0.4
    return min(scale, max(1, round(1 + (scale - 1) * (centre + rng.gauss(0, 0.2)))))

"""The network: a timm backbone with a binary or N-way head, behind an optional high-pass stage."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import timm
import torch
import torch.nn.functional as F
from torch import nn

from detector.errors import RecipeError
from detector.recipes import ModelSpec

# Residuals of normalised pixels are a few tenths at most; this gain brings them near unit scale,
# which the stem's initialisation expects.
HIGH_PASS_GAIN = 4.0


class HighPass(nn.Module):
    """x - avg_pool3x3(x): keeps the high frequencies where generators leave their traces."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, H, W) -> (B, C, H, W)
        smooth = F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)
        return (x - smooth) * HIGH_PASS_GAIN


class Detector(nn.Module):
    """Logits for (fake) with a binary head, or for each class with an N-way head."""

    def __init__(self, backbone: nn.Module, *, high_pass: bool) -> None:
        super().__init__()
        self.high_pass = HighPass() if high_pass else nn.Identity()
        self.backbone = backbone

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, 3, H, W) -> (B, n_outputs)
        return self.backbone(self.high_pass(x))


def build_model(spec: ModelSpec, classes: tuple[str, ...]) -> Detector:
    """Builds the recipe's network, loading `spec.pretrained` from its local file if named.

    The binary head has one logit (fake); the N-way head one per class, in `classes` order.
    """
    n_outputs = 1 if spec.head == "binary" else len(classes)
    backbone = timm.create_model(spec.name, pretrained=False, num_classes=n_outputs, **spec.args)
    if spec.pretrained is not None:
        load_pretrained(backbone, spec.pretrained)
    return Detector(backbone, high_pass=spec.high_pass)


def load_pretrained(backbone: nn.Module, path: Path) -> None:
    """Loads a timm, Lightning or plain state dict into `backbone`, all but its classifier."""
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a file that is not a checkpoint
        raise RecipeError(f"model.pretrained {path}: cannot be read as weights: {exc}") from None
    state = _state_dict(saved)
    own = backbone.state_dict()
    head = backbone.pretrained_cfg.get("classifier", "") + "."
    misshapen = [key for key in state if key in own and own[key].shape != state[key].shape]
    # a pretrained classifier fits another label set; the new head keeps its fresh init
    state = {key: value for key, value in state.items() if key not in misshapen}
    missing, unexpected = backbone.load_state_dict(state, strict=False)
    misshapen = [key for key in misshapen if not key.startswith(head)]
    missing = [key for key in missing if not key.startswith(head) and key not in misshapen]
    if missing or unexpected or misshapen:
        raise RecipeError(
            f"model.pretrained {path} does not fit {type(backbone).__name__}: "
            f"missing {missing[:5]}, unexpected {unexpected[:5]}, other shapes {misshapen[:5]}"
        )


def _state_dict(saved: object) -> dict[str, torch.Tensor]:
    if isinstance(saved, Mapping) and isinstance(saved.get("state_dict"), Mapping):
        saved = saved["state_dict"]  # Lightning
    elif isinstance(saved, Mapping) and isinstance(saved.get("model"), Mapping):
        saved = saved["model"]  # our checkpoints, and many training scripts'
    if not isinstance(saved, Mapping):
        raise RecipeError(f"model.pretrained holds a {type(saved).__name__}, not a state dict")
    state = dict(saved)
    # wrappers prefix every key: DDP "module.", Lightning "model.", our Detector "backbone."
    for prefix in ("module.", "model.", "backbone."):
        if state and all(key.startswith(prefix) for key in state):
            state = {key.removeprefix(prefix): value for key, value in state.items()}
    return {key: value for key, value in state.items() if isinstance(value, torch.Tensor)}

"""torchvision's own VGG19 `features`, the reference the engine's extractor is checked against.

`vgg19()` initialises the whole network, its 120-million-parameter classifier included (1.2 s of
CPU per call on a small machine), only for the tests to throw it away: here the network is built
on the meta device (no memory, no initialisation) and only its `features` get storage, which
the test then fills from a state dict (or only looks at the modules' kinds).
"""

from __future__ import annotations

import torch
from torch import nn

from nst_engine.settings.layers import LAYERS

LAST = LAYERS["pool5"].index


def torchvision_features(up_to: int = LAST, state_dict: dict | None = None) -> nn.Sequential:
    """`vgg19().features[: up_to + 1]`, holding its own tensors from `state_dict` (keys as in
    `features`), as the engine's extractor loads them. Without one its values are uninitialised."""
    from torchvision.models import vgg19

    with torch.device("meta"):
        features = vgg19().features[: up_to + 1]
    features = features.to_empty(device="cpu")
    if state_dict is not None:
        features.load_state_dict({key: state_dict[key] for key in features.state_dict()})
    return features

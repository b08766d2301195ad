"""A helper of the benchmarks (not one itself): VGG19's style-layer activations of the demo
pair at a longest side of `size` px, as a run computes them (in bf16 if asked).

    from demo_activations import STYLE_LAYERS, activations   # from benchmarks/*.py
"""

from __future__ import annotations

import torch
from PIL import Image

from nst_engine.method.features import FeatureExtractor
from nst_engine.method.weights import load_weights
from nst_engine.running.tensors import image_to_tensor
from nst_engine.settings.gallery import demo_pair

STYLE_LAYERS = ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"]


def activations(
    size: int, device: torch.device, weights: str, bf16: bool = False
) -> tuple[list[dict[str, torch.Tensor]], str]:
    """[content's, style's] activations by layer (float32), and the weights' label."""
    loaded = load_weights(weights, 0)
    extractor = FeatureExtractor(loaded, STYLE_LAYERS, "max").to(device)
    pictures = []
    for path in demo_pair():
        with Image.open(path) as image:
            rgb = image.convert("RGB")
            scale = size / max(rgb.size)
            shape = (round(rgb.width * scale), round(rgb.height * scale))
            pictures.append(image_to_tensor(rgb, shape, device) / 255)
    result = []
    with torch.no_grad(), torch.autocast(device.type, torch.bfloat16, enabled=bf16):
        for picture in pictures:
            result.append({name: value.float() for name, value in extractor(picture).items()})
    return result, loaded.label

"""The form's fields for coarse to fine (near the sizes) and the speed switches (machine).

Coarse to fine runs the job at smaller sizes first, each scale starting from the last one's
result: the large shapes settle where an iteration is cheap, and a large print needs fewer
iterations at its own, costly size. The hint under the fields lists the scales, so that
what `Min size` does is seen before Run is pressed.
"""

from __future__ import annotations

from collections.abc import Iterator

from textual.widget import Widget
from textual.widgets import Static

from nst_engine.settings.config import RunConfig
from nst_engine.settings.sizes import RunSizes
from nst_engine.settings.table import BY_NAME
from nst_tui.app.widgets.form.fields import TextField, choice_field

COARSE_TO_FINE_FIELDS = ("min_size", "scale_iterations")
SPEED_FIELDS = ("precision", "memory_format", "cuda_graph")
SPEED_TOOLTIP = "auto picks what measured fastest on the device"


def coarse_to_fine_fields(config: RunConfig) -> Iterator[Widget]:
    yield TextField(
        "Min size", "min_size", BY_NAME["min_size"].read, str(config.plan.min_size),
        tooltip="Coarse to fine, for large sizes: start at this longest side, then each scale "
        "√2 larger up to the compute size, each from the last one's result; 0 turns it off",
    )  # fmt: skip
    yield TextField(
        "Scale iters", "scale_iterations", BY_NAME["scale_iterations"].read,
        str(config.plan.scale_iterations),
        tooltip="Coarse to fine: iterations at each scale before the last (which runs Iterations)",
    )  # fmt: skip
    yield Static("", id="scales-hint", classes="field-hint", markup=False)


def speed_fields(config: RunConfig) -> Iterator[Widget]:
    for name, label in (
        ("precision", "Precision"),
        ("memory_format", "Memory format"),
        ("cuda_graph", "CUDA graph"),
    ):
        yield choice_field(name, label, config.value(name), tooltip=SPEED_TOOLTIP)


def scales_hint(config: RunConfig, sizes: RunSizes) -> str:
    """`5 scales: 128 → 181 → 256 → 362 → 512` (longest sides), or why there is one; ""
    when coarse to fine is off."""
    if not config.plan.min_size:
        return ""
    if len(sizes.scales) == 1:
        return "off: the min size is not below the compute size"
    sides = [str(max(compute)) for compute, _ in sizes.scales]
    return f"{len(sides)} scales: {' → '.join(sides)}"

"""Regions in sweeps (issue 22.1): a swept style keeps a lone mask (the paintings tried on one
region); with several masks, sweeping the style (which puts one style image in place of all)
is refused at plan time in one line naming --style-masks, never a count error from a cell."""

from __future__ import annotations

from pathlib import Path

import pytest

from nst_engine.errors import ConfigError
from nst_engine.settings.config import RunConfig
from nst_engine.settings.gallery import gallery_image
from nst_engine.sweeps.plan import parse_vary, plan_sweep


def test_a_swept_style_keeps_a_lone_mask_on_each_cell(base: RunConfig, tmp_path: Path) -> None:
    masked = base.replace(style_masks=(tmp_path / "sky.png",))
    plan = plan_sweep(masked, [parse_vary("style=mosaic,swirl")])
    assert [job.config.inputs.style.stem for job in plan.jobs] == ["mosaic", "swirl"]
    assert all(job.config.inputs.style_masks == (tmp_path / "sky.png",) for job in plan.jobs)


def test_sweeping_the_style_of_several_masked_styles_is_one_line_naming_the_masks(
    base: RunConfig, tmp_path: Path
) -> None:
    masked = base.replace(
        extra_styles=(gallery_image("swirl").path,),
        style_masks=(tmp_path / "sky.png", tmp_path / "sea.png"),
    )
    with pytest.raises(ConfigError) as caught:
        plan_sweep(masked, [parse_vary("style=mosaic,swirl")])
    message = caught.value.message
    assert "--style-masks" in message and "2" in message and "\n" not in message
    assert "style masks for 1 style image" not in message  # not the count error of a cell


@pytest.mark.parametrize("axis", ["lr=1,2", "preset=painterly,print", "seed=1,2"])
def test_other_axes_keep_every_mask(base: RunConfig, tmp_path: Path, axis: str) -> None:
    masks = (tmp_path / "sky.png", tmp_path / "sea.png")
    masked = base.replace(extra_styles=(gallery_image("swirl").path,), style_masks=masks)
    plan = plan_sweep(masked, [parse_vary(axis)])
    assert all(job.config.inputs.style_masks == masks for job in plan.jobs)

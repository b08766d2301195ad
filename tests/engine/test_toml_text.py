"""TOML out without tomli_w (a bare GPU machine has none): the plain writer reads back as the
data it was given, with tomllib, for every run setting and for awkward strings."""

from __future__ import annotations

import math
import sys

import pytest

from nst_engine.settings import toml_text
from nst_engine.settings.config import RunConfig

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib


def test_every_run_setting_reads_back_as_written(tmp_path, demo_pair):
    content, style = demo_pair
    config = RunConfig.from_dict(
        {
            "style_blend": [0.25, 0.75],
            "extra_styles": [str(style)],
            "size": "640x480",
            "optimizer": {"name": "adam", "lr": 2.5e-3},
            "style_layers": {"relu1_1": 0.5, "relu5_1": 2.0},
        },
        base=RunConfig.from_flat(content=content, style=style, output=tmp_path / "out.png"),
    )
    data = config.to_dict()
    assert tomllib.loads(toml_text.plain_dumps(data)) == data
    assert RunConfig.from_toml(toml_text.plain_dumps(data)) == config


@pytest.mark.parametrize(
    "text",
    ['a "quoted" path', "back\\slash", "tab\tnew\nline", "caf\u00e9 \U0001f3a8", "del\x7f", ""],
)
def test_awkward_strings_and_keys_read_back(text):
    data = {text or "empty": text, "nested": {"key with space": [1, 2.5, True, text]}}
    assert tomllib.loads(toml_text.plain_dumps(data)) == data


def test_special_floats_read_back():
    data = {"big": 1e300, "small": 1e-300, "infinite": math.inf, "negative": -0.0}
    assert tomllib.loads(toml_text.plain_dumps(data)) == data


def test_dumps_is_tomli_ws_when_it_is_installed():
    tomli_w = pytest.importorskip("tomli_w")
    data = RunConfig().to_dict()
    assert toml_text.dumps(data) == tomli_w.dumps(data)

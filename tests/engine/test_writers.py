"""Each of the engine's writers of a whole file goes through the one atomic write
(safe_files.write_atomically, tested once against kills in tests/engine/test_atomic_writes.py),
and still writes what it wrote before."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from PIL import Image

from nst_engine.settings.config import RunConfig
from nst_engine.store.runs import RunFolder


@pytest.fixture
def folder(tiny_config, tmp_path) -> RunFolder:
    return RunFolder.create(tiny_config(), tmp_path / "runs")


@pytest.fixture
def picture(tmp_path) -> Path:
    path = tmp_path / "picture.png"
    Image.radial_gradient("L").convert("RGB").resize((40, 30)).save(path)
    return path


# --- the run store ----------------------------------------------------------------------------


RUN_FOLDER_WRITES = {
    "settings.toml": lambda folder: folder.write_settings(RunConfig.from_flat(iterations=17)),
    "run.json": lambda folder: folder.update(iterations_done=3),
    "losses.jsonl": lambda folder: folder.keep_losses_until(0),
    "checkpoint.pt": lambda folder: folder.write_checkpoint({"completed": 3}),
    "checkpoint.pt (from a worker)": lambda folder: folder.put_checkpoint(b"serialised"),
}


@pytest.mark.parametrize("what", RUN_FOLDER_WRITES)
def test_the_run_folders_files_go_through_the_atomic_write(folder, atomic_writes, what):
    RUN_FOLDER_WRITES[what](folder)
    assert atomic_writes == [folder.path / what.split()[0]]


def test_the_written_run_folder_files_read_back(folder):
    folder.write_settings(RunConfig.from_flat(iterations=17))
    assert folder.config().plan.iterations == 17
    assert folder.update(iterations_done=3) == folder.record()
    folder.write_checkpoint({"completed": 3})
    assert folder.read_checkpoint() == {"completed": 3}


def test_a_runs_claim_on_its_output_goes_through_the_atomic_write(folder, atomic_writes):
    from nst_engine.store import output_index

    output_index.claim(folder.path, folder.path.parent / "mine.png")
    index = folder.path.parent / output_index.INDEX
    assert atomic_writes == [index / folder.id]
    assert output_index.owned_outputs(folder.path.parent) == {
        folder.path.parent / "mine.png": (folder.id,)
    }


def test_the_output_index_of_an_older_runs_folder_is_built_through_the_atomic_write(
    tiny_config, tmp_path, atomic_writes
):
    from nst_engine.store import output_index

    root = tmp_path / "runs"
    first = RunFolder.create(tiny_config(output=tmp_path / "a.png"), root)
    second = RunFolder.create(tiny_config(output=tmp_path / "b.png"), root)
    shutil.rmtree(root / output_index.INDEX)  # as a folder made by an earlier version
    atomic_writes.clear()
    owned = output_index.owned_outputs(root)
    assert owned == {tmp_path / "a.png": (first.id,), tmp_path / "b.png": (second.id,)}
    assert sorted(path.name for path in atomic_writes) == sorted([first.id, second.id])
    assert not [path for path in root.iterdir() if path.name.endswith(".tmp")]


def test_the_recorder_copies_the_result_and_its_thumbnail_through_the_atomic_write(
    folder, picture, atomic_writes
):
    from nst_engine.store.recorder import Recorder

    Recorder(folder).finished(picture, seconds=1.0, iterations=5)
    assert folder.result_path in atomic_writes
    assert folder.thumbnail_path in atomic_writes
    assert folder.result_path.read_bytes() == picture.read_bytes()


# --- pictures, sweeps -----------------------------------------------------------------------------


def test_images_are_saved_through_the_atomic_write(tmp_path, atomic_writes):
    from nst_engine.running.images import read_embedded_settings, save_image, write_file

    save_image(Image.new("RGB", (8, 8)), tmp_path / "out.png", "iterations = 4")
    write_file(b"encoded elsewhere", tmp_path / "from-a-worker.jpg")
    assert atomic_writes == [tmp_path / "out.png", tmp_path / "from-a-worker.jpg"]
    assert read_embedded_settings(tmp_path / "out.png") == "iterations = 4"


def test_a_sweeps_record_is_saved_through_the_atomic_write(tmp_path, demo_pair, atomic_writes):
    from nst_engine.sweeps.plan import parse_vary, plan_sweep
    from nst_engine.sweeps.saved import create_run_folders, save_sweep

    content, style = demo_pair
    base = RunConfig.from_flat(content=content, style=style, output=tmp_path / "grid.png", size=32)
    plan = plan_sweep(base, [parse_vary("style-weight=1,2")])
    folders = create_run_folders(plan, tmp_path / "runs")
    atomic_writes.clear()
    path = save_sweep(plan, folders, 64)
    assert atomic_writes == [path] and path.name == "sweep.toml"


def test_a_sweeps_snapshot_cells_are_copied_through_the_atomic_write(
    tmp_path, demo_pair, atomic_writes
):
    from nst_engine.sweeps.plan import parse_vary, plan_sweep
    from nst_engine.sweeps.sweep import Sweep

    content, style = demo_pair
    base = RunConfig.from_flat(content=content, style=style, output=tmp_path / "grid.png", size=32)
    plan = plan_sweep(base, [parse_vary("iterations=2,4")])  # a cell from the snapshot at 2
    sweep = Sweep.start(plan, 32, tmp_path / "runs")
    snapshot = sweep.folders[0].snapshot_path(2, 4)
    snapshot.parent.mkdir(exist_ok=True)
    Image.new("RGB", (8, 8), "red").save(snapshot)
    atomic_writes.clear()
    sweep.draw()
    cells = list(plan.cells_folder.glob("r1c1-*.png"))
    assert len(cells) == 1 and atomic_writes == [cells[0], sweep.path]
    assert cells[0].read_bytes() == snapshot.read_bytes()


# --- caches and settings ----------------------------------------------------------------------


def test_converted_weights_are_cached_through_the_atomic_write(tmp_path, atomic_writes):
    from nst_engine.method.weights import random_weights, read_weights_file, save_weights_file

    path = tmp_path / "cache" / "vgg19.safetensors"
    weights = random_weights(3)
    save_weights_file(weights, path, source_note="seed 3")
    assert atomic_writes == [path]
    again = read_weights_file(path)
    assert again.preprocessing == weights.preprocessing
    assert all(again.state_dict[key].equal(value) for key, value in weights.state_dict.items())


def test_the_rates_cache_is_written_through_the_atomic_write(atomic_writes):
    from nst_engine.cost import rates

    rates.write_cache({"cpu": {"timing": [0.01, 0.02]}})
    assert atomic_writes == [rates.cache_path()]
    assert rates.read_cache() == {"cpu": {"timing": [0.01, 0.02]}}


def test_a_user_preset_is_saved_through_the_atomic_write(atomic_writes):
    from nst_engine.settings.presets import load_preset, save_user_preset

    path = save_user_preset("my look", RunConfig.from_flat(iterations=23))
    assert atomic_writes == [path]
    assert load_preset("my look").plan.iterations == 23


def test_a_benchs_figures_are_written_through_the_atomic_write(
    tmp_path, monkeypatch, atomic_writes
):
    import argparse

    from nst_engine.cost import bench

    parser = argparse.ArgumentParser()
    bench.add_bench_arguments(parser)
    arguments = parser.parse_args(["--sizes", "32", "--json", str(tmp_path / "bench.json")])
    figures = {"size": 32, "ms_per_iteration": 5.0}  # what the measurement found
    monkeypatch.setattr(bench, "measure_fresh", lambda arguments, size, settings: figures)
    monkeypatch.setattr(bench, "format_row", lambda result, first: "")
    assert bench.run_bench(arguments) == 0
    assert atomic_writes == [tmp_path / "bench.json"]
    assert json.loads((tmp_path / "bench.json").read_text()) == [figures]


# --- a cluster's worker ---------------------------------------------------------------------------


def test_a_cluster_workers_inputs_are_written_through_the_atomic_write(
    tmp_path, tiny_config, atomic_writes
):
    from nst_engine.jobs.cluster_worker import placed as placed_config

    files = {"content": ("cat.png", b"content bytes"), "style": ("wave.png", b"style bytes")}
    config = placed_config(tiny_config(), files, tmp_path)
    assert atomic_writes == [config.inputs.content, config.inputs.style]
    assert config.inputs.content.read_bytes() == b"content bytes"

"""`nst-tui video ... --chunks N --overlap K`: chunks run at once on several devices (here
two `cpu` slots) or on a Ray cluster, joined into every frame in order; `--frame-rate`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from moving_clips import write_moving_texture
from PIL import Image

pytest.importorskip("cv2")

QUICK = (
    "--size", "32", "--iterations", "3", "--frame-iterations", "2", "--weights", "random",
    "--content-layers", "relu2_1=1", "--style-layers", "relu1_1=1,relu2_1=1",
)  # fmt: skip
FRAMES = 7


@pytest.fixture
def frames(work: Path) -> Path:
    """Seven 40x32 frames of a texture moving 2 px a frame."""
    return write_moving_texture(work / "clip", FRAMES, (40, 32), seed=1)


def nearest_input(output: Path, inputs: list[Path]) -> int:
    """The 0-based index of the input frame `output` is closest to (a few iterations of random
    weights leave a frame close to its content, so this says which frame it was made of)."""
    with Image.open(output) as made:
        made_array = np.asarray(made.convert("RGB"), np.float32)
        size = made.size
    distances = []
    for file in inputs:
        with Image.open(file) as image:
            frame = np.asarray(image.convert("RGB").resize(size), np.float32)
        distances.append(np.abs(frame - made_array).mean())
    return int(np.argmin(distances))


def assert_all_frames_in_order(folder: Path, clip: Path) -> None:
    names = sorted(p.name for p in folder.iterdir())
    assert names == [f"frame-{n:05d}.png" for n in range(1, FRAMES + 1)]
    inputs = [clip / f"{n}.png" for n in range(FRAMES)]
    assert [nearest_input(folder / name, inputs) for name in names] == list(range(FRAMES))


def test_two_chunks_on_two_devices_give_every_frame_in_order(
    nst_tui_here, frames: Path, demo_pair, work: Path
) -> None:
    result = nst_tui_here(
        "video", frames, demo_pair[1], "-o", "styled", *QUICK,
        "--device", "cpu,cpu", "--chunks", "2", "--overlap", "2",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "2 chunk(s) of frames 1-4, 3-7, on cpu, cpu" in result.stderr
    assert "chunk 2/2 (frames 3-7): frame 5/5 done" in result.stderr
    assert "chunk 1/2 (frames 1-4): frame 4/4 done" in result.stderr
    assert result.stdout.strip() == "styled"
    assert_all_frames_in_order(work / "styled", frames)
    assert not (work / "styled.chunks").exists()  # the chunks' frames go once joined


def test_a_stopped_chunked_sequence_is_one_run_that_resume_finishes(
    nst_tui_here, frames: Path, demo_pair, work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json
    import os
    import signal

    from nst_engine.jobs.chunk_runs import ChunkEvent
    from nst_engine.video.sequence import FrameDone
    from nst_tui.cli import video_command

    real_events = video_command._events

    def interrupted_after_a_frame(*arguments):
        for event in real_events(*arguments):
            yield event
            if isinstance(event, ChunkEvent) and isinstance(event.event, FrameDone):
                os.kill(os.getpid(), signal.SIGINT)  # as Ctrl+C: the handler sets the stop

    monkeypatch.setattr(video_command, "_events", interrupted_after_a_frame)
    chunked = (*QUICK, "--device", "cpu,cpu", "--chunks", "2", "--overlap", "2")
    stopped = nst_tui_here("video", frames, demo_pair[1], "-o", "styled", *chunked)
    assert stopped.returncode == 128 + signal.SIGINT
    [run] = json.loads(nst_tui_here("runs", "--json").stdout)
    assert "stopped; the frames done are in styled.chunks" in stopped.stderr
    assert f"nst-tui resume {run['id']} goes on" in stopped.stderr
    assert (run["kind"], run["status"], run["frames_total"]) == ("sequence", "stopped", FRAMES)
    record = json.loads((Path(run["path"]) / "run.json").read_text())
    assert (record["sequence"]["chunks"], record["sequence"]["overlap"]) == (2, 2)
    kept = list((work / "styled.chunks").glob("chunk-*/frame-?????.png"))
    assert kept and run["frames_done"] >= 1 and not (work / "styled").exists()

    monkeypatch.setattr(video_command, "_events", real_events)
    resumed = nst_tui_here("resume", run["id"], "--device", "cpu,cpu")
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stderr.count("was made before: kept") == len(kept)
    assert_all_frames_in_order(work / "styled", frames)
    [run] = json.loads(nst_tui_here("runs", "--json").stdout)
    assert (run["status"], run["frames_done"]) == ("finished", FRAMES)


def test_the_same_command_again_goes_on_after_each_chunks_frames(
    nst_tui_here, frames: Path, demo_pair, work: Path
) -> None:
    chunked = (*QUICK, "--device", "cpu", "--chunks", "2", "--overlap", "1")
    first = work / "styled.chunks" / "chunk-2"
    first.mkdir(parents=True)
    Image.new("RGB", (40, 32)).save(first / "frame-00001.png")  # as a stopped start left it
    result = nst_tui_here("video", frames, demo_pair[1], "-o", "styled", *chunked)
    assert result.returncode == 0, result.stderr
    assert "chunk 2/2 (frames 4-7): frame 1/4 was made before: kept" in result.stderr
    assert result.stderr.count("was made before") == 1


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (("--chunks", "2", "--overlap", "4"), "--overlap 4 needs chunks of more than 4 frames"),
        (("--chunks", "0"), "--chunks must be at least 1"),
        (("--chunks", "2", "--overlap", "-1"), "--overlap must be 0 or more"),
        (("--device", "cpu,gpu"), "device must be auto, cpu, cuda or cuda:N, got 'gpu'"),
        (("--frame-rate", "fast"), "--frame-rate must be a number of frames a second"),
        (("--frame-rate", "0"), "got '0'"),
    ],
)
def test_each_chunk_or_rate_mistake_is_one_line(
    nst_tui_here, frames: Path, demo_pair, work: Path, flags, message
) -> None:
    result = nst_tui_here("video", frames, demo_pair[1], "-o", "out", *QUICK, *flags)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (work / "out").exists() or not any((work / "out").iterdir())


def test_the_frame_rate_of_a_video_made_from_frames_is_24_or_the_one_given(
    nst_tui_here, frames: Path, demo_pair, work: Path
) -> None:
    av = pytest.importorskip("av")
    assert nst_tui_here("video", "--help").stdout.count("from a folder of frames 24") == 1
    for output, flags, rate in (("a.mp4", (), 24), ("b.mp4", ("--frame-rate", "12.5"), 12.5)):
        result = nst_tui_here(
            "video", frames, demo_pair[1], "-o", output, *QUICK, "--device", "cpu",
            "--independent", "--iterations", "1", *flags,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        with av.open(str(work / output)) as video:
            stream = video.streams.video[0]
            assert float(stream.average_rate) == rate
            assert sum(1 for _ in video.decode(video=0)) == FRAMES


def test_frame_rate_overrides_a_video_inputs_rate_and_leaves_its_audio_out(
    nst_tui_here, demo_pair, work: Path
) -> None:
    """Another rate changes the video's length and not the audio's: the audio is left out,
    with a one-line note (stretching sound is not this tool's work)."""
    av = pytest.importorskip("av")
    from moving_clips import make_video

    make_video(work / "in.mp4", 3, 10, audio=True)
    result = nst_tui_here(
        "video", "in.mp4", demo_pair[1], "-o", "out.mkv", *QUICK, "--device", "cpu",
        "--independent", "--iterations", "1", "--frame-rate", "30",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert (
        "note: --frame-rate 30 changes the video's length (in.mp4 plays at 10 fps): its "
        "audio is left out" in result.stderr
    )
    with av.open(str(work / "out.mkv")) as video:
        assert float(video.streams.video[0].average_rate) == 30
        assert not video.streams.audio


def test_the_audio_is_kept_only_at_the_input_videos_own_rate(work: Path) -> None:
    pytest.importorskip("av")
    from moving_clips import make_video

    from nst_engine.video.frames import audio_source, open_frames

    source = open_frames(make_video(work / "in.mp4", 3, 10, audio=True))
    assert source.has_audio
    assert audio_source(None, source) == source.path
    assert audio_source(10.0, source) == source.path
    assert audio_source(12.5, source) is None
    silent = open_frames(make_video(work / "silent.mp4", 3, 10, audio=False))
    assert not silent.has_audio and audio_source(None, silent) is None


@pytest.mark.slow  # starts Ray and runs the engine on its workers
def test_two_chunks_on_a_local_ray_give_every_frame_in_order(
    nst_tui_here, frames: Path, demo_pair, work: Path, ray_cluster
) -> None:
    result = nst_tui_here(
        "video", frames, demo_pair[1], "-o", "styled", *QUICK, "--device", "cpu",
        "--cluster", "local", "--chunks", "2", "--overlap", "2",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "on ray:0" in result.stderr and "chunk 2/2 (frames 3-7): frame 5/5 done" in result.stderr
    assert_all_frames_in_order(work / "styled", frames)


def test_one_chunk_on_one_device_is_the_sequence_in_one_go(
    nst_tui_here, frames: Path, demo_pair, work: Path
) -> None:
    result = nst_tui_here(
        "video", frames, demo_pair[1], "-o", "styled", *QUICK, "--device", "cpu", "--chunks", "1"
    )
    assert result.returncode == 0, result.stderr
    assert "chunk" not in result.stderr and f"frame {FRAMES}/{FRAMES} done" in result.stderr


def test_a_sequence_made_in_one_go_does_not_go_on_in_chunks(
    nst_tui_here, frames: Path, demo_pair, work: Path
) -> None:
    import json

    from nst_engine.settings.config import RunConfig
    from nst_engine.video.sequence_record import create_sequence_folder
    from nst_engine.video.settings import SequenceSettings

    config = RunConfig.from_flat(
        content=frames, style=demo_pair[1], weights="random", size=32, iterations=2
    )
    create_sequence_folder(config, frames, work / "styled", SequenceSettings(), FRAMES)
    [run] = json.loads(nst_tui_here("runs", "--json").stdout)
    result = nst_tui_here("resume", run["id"], "--device", "cpu,cpu")
    assert result.returncode == 2
    assert "is a sequence made in one go: it goes on on one device" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_chunk_lines_say_the_sequences_eta_from_all_chunks_frames_a_second(capsys) -> None:
    """The chunks run at once: the time left is the frames left over the frames a second of
    every chunk together, as measured since the chunks began; a frame kept from before is one
    less to make, not a frame made in no time."""
    from nst_engine.jobs.chunk_runs import ChunkEvent, ChunksPlanned
    from nst_engine.video.chunks import chunk_ranges
    from nst_engine.video.sequence import FrameDone
    from nst_tui.cli.video_chunks import ChunkLines

    now = [100.0]
    lines = ChunkLines(clock=lambda: now[0])
    ranges = chunk_ranges(FRAMES, 2, 2)  # frames 1-4 and 3-7: 9 chunk frames to make
    lines.planned(ChunksPlanned(ranges, ["cpu", "cpu"], Path("x.chunks")))

    def done(chunk: int, number: int, skipped: bool = False) -> str:
        total = ranges[chunk - 1].frames
        event = FrameDone(number, total, Path(f"{number}.png"), 1.0, skipped)
        lines.offer(ChunkEvent(chunk, 2, event))
        return capsys.readouterr().err.strip().splitlines()[-1]

    assert done(2, 1, skipped=True).endswith("was made before: kept")
    now[0] = 110.0
    assert done(1, 1).endswith("; sequence: 7 frames left, about 1 min 10 s (0.10 frames/s)")
    now[0] = 120.0
    # 2 frames made in 20 s (0.1 a second, both chunks together), 6 left (one was kept).
    assert done(2, 2).endswith("; sequence: 6 frames left, about 1 min (0.10 frames/s)")

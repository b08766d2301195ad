"""A sequence's chunks (nst_engine/video/chunks.py): the frame ranges for N chunks
overlapping by K frames, and the blend that joins them. Pure: no torch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from nst_engine.errors import ConfigError
from nst_engine.video.chunks import (
    ChunkRange,
    blended,
    chunk_ranges,
    frame_sources,
    joined_frame,
    seams,
)


def test_chunks_share_the_frames_evenly_each_starting_the_overlap_before_its_share() -> None:
    assert chunk_ranges(10, 3, 2) == [
        ChunkRange(1, start=1, share=1, stop=4),
        ChunkRange(2, start=3, share=5, stop=7),
        ChunkRange(3, start=6, share=8, stop=10),
    ]


def test_one_chunk_is_the_whole_sequence_and_no_overlap_means_plain_cuts() -> None:
    assert chunk_ranges(5, 1, 3) == [ChunkRange(1, 1, 1, 5)]
    assert chunk_ranges(4, 2, 0) == [ChunkRange(1, 1, 1, 2), ChunkRange(2, 3, 3, 4)]


def test_more_chunks_than_frames_are_clamped_to_a_frame_each() -> None:
    assert chunk_ranges(3, 8, 0) == [
        ChunkRange(1, 1, 1, 1),
        ChunkRange(2, 2, 2, 2),
        ChunkRange(3, 3, 3, 3),
    ]


@pytest.mark.parametrize(
    ("frames", "chunks", "overlap", "message"),
    [
        (8, 2, 4, "--overlap 4 needs chunks of more than 4 frames of their own"),
        (6, 4, 3, "6 frames in 4 chunks give 1"),
        (3, 8, 1, "give a smaller --overlap or fewer --chunks"),
        (8, 0, 1, "--chunks must be at least 1"),
        (8, 2, -1, "--overlap must be 0 or more"),
    ],
)
def test_an_overlap_as_long_as_a_chunk_is_one_line(frames, chunks, overlap, message) -> None:
    with pytest.raises(ConfigError) as raised:
        chunk_ranges(frames, chunks, overlap)
    assert message in raised.value.message and "\n" not in raised.value.message


def test_every_frame_comes_once_in_order_and_the_overlap_moves_linearly_to_the_later_chunk():
    ranges = chunk_ranges(8, 2, 3)  # chunk 1: frames 1-4; chunk 2: 2-8, its own from 5
    sources = frame_sources(ranges)
    assert len(sources) == 8
    assert [(s.chunk, s.local, s.weight) for s in sources[0]] == [(1, 1, 1.0)]
    overlap = sources[1:4]  # frames 2, 3, 4
    assert [[(s.chunk, s.local) for s in frame] for frame in overlap] == [
        [(1, 2), (2, 1)],
        [(1, 3), (2, 2)],
        [(1, 4), (2, 3)],
    ]
    later_weights = [frame[1].weight for frame in overlap]
    assert later_weights == pytest.approx([0.25, 0.5, 0.75])
    assert all(sum(s.weight for s in frame) == pytest.approx(1) for frame in sources)
    assert [[(s.chunk, s.local) for s in frame] for frame in sources[4:]] == [
        [(2, 4)],
        [(2, 5)],
        [(2, 6)],
        [(2, 7)],
    ]


def test_without_blending_the_overlap_is_the_earlier_chunks_then_a_cut() -> None:
    sources = frame_sources(chunk_ranges(8, 2, 3), blend=False)
    assert [[(s.chunk, s.local, s.weight) for s in frame] for frame in sources] == [
        *([(1, n, 1.0)] for n in range(1, 5)),
        *([(2, n, 1.0)] for n in range(4, 8)),
    ]


def test_a_seam_runs_from_the_frame_before_the_overlap_to_the_first_after_it() -> None:
    assert seams(chunk_ranges(10, 3, 2)) == [range(2, 6), range(5, 9)]
    assert seams(chunk_ranges(5, 1, 2)) == []


def test_the_blend_is_the_weighted_sum_rounded_to_8_bits() -> None:
    black = np.zeros((2, 3, 3), np.uint8)
    white = np.full((2, 3, 3), 255, np.uint8)
    assert (blended([black, white], [0.75, 0.25]) == 64).all()
    assert blended([black, white], [0.0, 1.0]).dtype == np.uint8


def test_a_joined_frame_blends_the_chunks_files(tmp_path: Path) -> None:
    folders = {1: tmp_path / "one", 2: tmp_path / "two"}
    for number, local, value in ((1, 4, 0), (2, 3, 200)):
        folders[number].mkdir()
        Image.new("RGB", (4, 3), (value,) * 3).save(folders[number] / f"frame-{local}.png")
    sources = frame_sources(chunk_ranges(8, 2, 3))[3]  # frame 4: 1/4 of chunk 1, 3/4 of 2
    picture = joined_frame(sources, folders, lambda local: f"frame-{local}.png")
    assert picture.size == (4, 3) and picture.getpixel((0, 0)) == (150, 150, 150)

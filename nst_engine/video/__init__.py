"""Sequences: frames in and out, optical flow, the temporal loss, a sequence run (issue 22)."""

"""The `nst-tui` command line: the parser and its commands, headless runs, sweeps, progress."""

from nst_tui.cli.command import main

__all__ = ["main"]

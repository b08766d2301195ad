"""Starting the app from the command line: what must be asked of the terminal before Textual
owns it, the app's run, and what is printed once the terminal is restored."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys

from nst_tui.app.app import NSTApp
from nst_tui.app.remembered import load_remembered


def run_app(cluster_address: str | None = None) -> int:
    """Run the app until it quits; the exit code. With `cluster_address`, the cluster is
    connected and checked first (a one-line error before the app opens), and the app's queue
    runs its jobs there."""
    cluster = None
    if cluster_address is not None:
        from nst_engine.jobs.cluster import connect

        print(f"connecting to the Ray cluster at {cluster_address}...", file=sys.stderr)
        try:
            cluster = connect(cluster_address)
        except KeyboardInterrupt:
            from nst_tui.cli.headless import stopped_connecting

            print(stopped_connecting(cluster_address), file=sys.stderr)
            return 128 + signal.SIGINT
        for note in cluster.notes:
            print(f"note: {note}", file=sys.stderr)
    try:
        code, engine_busy = _run_app(cluster)
    finally:
        if cluster is not None:
            cluster.close()
    if engine_busy:
        end_now(code)
    return code


def end_now(code: int) -> None:
    """End the process without waiting for the engine thread's leftover work.

    The app has quit and its runs are saved, but the engine thread still works for nothing
    (the estimate's speed measurement, 20-60 s on a busy machine). Its thread is a daemon;
    the interpreter's usual exit would tear torch down under it, so the process ends here,
    its output and log flushed first.
    """
    for stream in (sys.stdout, sys.stderr):
        # Closed, or its reader gone: nowhere left to say it.
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    logging.shutdown()
    os._exit(code)


def _run_app(cluster) -> tuple[int, bool]:
    """The app's exit code, and whether its engine thread still works (for nothing)."""
    from nst_tui.app.terminal import use_truecolor_if_the_terminal_has_it
    from nst_tui.app.widgets.picture.cells import use_colour_system

    remembered = load_remembered()
    if os.environ.get("NST_TUI_PREVIEW") in ("cells", "graphics"):
        remembered.preview_mode = os.environ["NST_TUI_PREVIEW"]
    # Before the app exists: Rich picks the colour system from COLORTERM when it is made.
    use_truecolor_if_the_terminal_has_it()
    if remembered.preview_mode == "graphics":
        from nst_tui.app.terminal import ask_graphics

        ask_graphics()  # the protocol, the cell size, the largest Sixel image
    app = NSTApp(remembered, cluster=cluster)
    use_colour_system(app.console.color_system)  # before any picture is built (thumbnails)
    app.run()
    app.wait_for_engine()  # a run stopped by quitting saves its image first: say where
    if app.stop_signal != signal.SIGHUP:  # after a hang-up there is no terminal to print to
        with contextlib.suppress(OSError):
            for line in app.session_results:
                print(line, flush=True)
    return app.return_code or 0, app.engine_busy

"""Questions to the terminal before the app starts: truecolor (DECRQSS, XTGETTCAP), Sixel limits."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time

import pytest

from nst_tui.app import terminal

# Processes on a pty: with `pytest -n 2`, on the worker of the other terminal tests.
pytestmark = pytest.mark.xdist_group("terminal")

# Replies recorded from real terminals here (xterm 379 under Xvfb, kitty 0.26, tmux 3.3a).
XTERM = b"\x1bP1$r0;38:2::1:2:3m\x1b\\\x1b[?64;1;2;6;9;15;16;17;18;21;22;28c"
KITTY = b"\x1bP1$r38:2:1:2:3m\x1b\\\x1bP0+r524742\x1b\\\x1bP0+r5463\x1b\\\x1b[?62;c"
TMUX = b"\x1b[?1;2c"  # answers Device Attributes only


@pytest.mark.parametrize(
    ("reply", "truecolor"),
    [
        (XTERM, True),
        (KITTY, True),
        (b"\x1bP1$r0;38;2;1;2;3m\x1b\\\x1b[?62c", True),  # semicolons
        (b"\x1bP1+r524742\x1b\\\x1b[?62c", True),  # XTGETTCAP RGB only
        (b"\x1bP1+r5463=\x1b\\\x1b[?62c", True),  # Tc
        (b"\x1bP1$r0;38;5;16m\x1b\\\x1b[?62c", False),  # mapped to the palette
        (b"\x1bP1$r0;38;2;1;2;4m\x1b\\\x1b[?62c", False),  # another colour came back
        (b"\x1bP0$r\x1b\\\x1b[?62c", None),  # DECRQSS refused
        (TMUX, None),
        (b"", None),
    ],
)
def test_the_truecolor_answer_is_read_from_the_replies(reply: bytes, truecolor) -> None:
    assert terminal.parse_truecolor(reply) is truecolor


def test_the_sixel_limit_is_read_from_xtsmgraphics() -> None:
    assert terminal.parse_sixel_geometry(b"\x1b[?2;0;1000;1000S\x1b[?63;4c") == (1000, 1000)
    assert terminal.parse_sixel_geometry(b"\x1b[?2;0;800;480S") == (800, 480)
    assert terminal.parse_sixel_geometry(b"\x1b[?2;3;0S\x1b[?63;4c") is None  # refused
    assert terminal.parse_sixel_geometry(XTERM) is None


def test_the_answers_end_at_the_device_attributes() -> None:
    assert terminal.has_da_reply(XTERM) and terminal.has_da_reply(TMUX)
    assert not terminal.has_da_reply(b"\x1bP1$r0;38:2::1:2:3m\x1b\\")


def test_only_a_terminal_without_colorterm_is_asked() -> None:
    assert terminal.wants_truecolor_question({"TERM": "xterm-256color"})
    assert not terminal.wants_truecolor_question({"TERM": "xterm", "COLORTERM": "truecolor"})
    assert not terminal.wants_truecolor_question({"TERM": "dumb"})
    assert not terminal.wants_truecolor_question({"TERM": "xterm", "TEXTUAL_COLOR_SYSTEM": "256"})


def test_a_yes_sets_colorterm_for_the_app(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLORTERM", raising=False)
    monkeypatch.delenv("TEXTUAL_COLOR_SYSTEM", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.setattr(terminal, "ask", lambda query, timeout=0.5: TMUX)
    assert not terminal.use_truecolor_if_the_terminal_has_it()
    assert "COLORTERM" not in os.environ
    monkeypatch.setattr(terminal, "ask", lambda query, timeout=0.5: XTERM)
    assert terminal.use_truecolor_if_the_terminal_has_it()
    assert os.environ["COLORTERM"] == "truecolor"


ASKING = """
import sys
from nst_tui.app import terminal
print(repr(terminal.ask(terminal.TRUECOLOR_QUERY, timeout=float(sys.argv[1]))), file=sys.stderr)
"""


def ask_through_a_pty(reply: bytes | None, timeout: float = 5.0) -> tuple[bytes, bytes]:
    """Run `terminal.ask` in a process on a pty, answering as a terminal would; (query, result)."""
    import pty

    master, slave = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-c", ASKING, str(timeout)],
        stdin=slave,
        stdout=slave,
        stderr=subprocess.PIPE,
    )
    os.close(slave)
    query = b""
    deadline = time.monotonic() + 30
    while not query.endswith(terminal.PRIMARY_DA) and time.monotonic() < deadline:
        if select.select([master], [], [], 1)[0]:
            query += os.read(master, 1024)
    if reply is not None:
        os.write(master, reply)
    _, err = process.communicate(timeout=30)
    os.close(master)
    return query, err


def test_the_question_goes_out_and_the_reply_comes_back_through_a_real_pty() -> None:
    query, result = ask_through_a_pty(XTERM)
    assert query == terminal.TRUECOLOR_QUERY + terminal.PRIMARY_DA
    assert result.strip() == repr(XTERM).encode()


def test_a_terminal_that_never_answers_costs_only_the_timeout() -> None:
    query, result = ask_through_a_pty(None, timeout=0.2)
    assert query.endswith(terminal.PRIMARY_DA)
    assert result.strip() == b"b''"


def test_an_old_kitty_is_known_by_its_version() -> None:
    # textual-image's Kitty pictures need Unicode placeholders: kitty 0.28 or later.
    kitty = terminal.parse_version(b"\x1bP>|kitty(0.26.5)\x1b\\\x1b[?62;c")
    assert kitty == "kitty(0.26.5)"
    assert not terminal.draws_kitty_placeholders(kitty)
    assert terminal.draws_kitty_placeholders("kitty(0.35.2)")
    assert terminal.draws_kitty_placeholders(
        terminal.parse_version(b"\x1bP>|XTerm(379)\x1b\\\x1b[?63;1;2;4c")
    )
    assert terminal.draws_kitty_placeholders(None)  # no answer: textual-image's word stands


def test_an_old_kitty_gets_half_blocks_not_placeholder_glyphs(monkeypatch) -> None:
    import textual_image.renderable
    import textual_image.widget  # noqa: F401  (as terminal.ask_graphics imports it)
    from textual_image.renderable.tgp import Image as TGP

    from nst_tui.app.widgets.picture.preview import graphics_widget_class

    monkeypatch.setattr(textual_image.renderable, "Image", TGP)
    monkeypatch.setattr(terminal, "_version", "kitty(0.35.2)")
    assert graphics_widget_class() is not None
    monkeypatch.setattr(terminal, "_version", "kitty(0.26.5)")
    assert graphics_widget_class() is None


# Replies to GRAPHICS_QUERY: xterm -ti vt340 (379, under Xvfb: Sixel, its DA lists 4), a
# kitty (its graphics query answered OK), and a terminal with neither.
XTERM_VT340_GRAPHICS = b"\x1bP>|XTerm(379)\x1b\\\x1b[?63;1;2;4;6;9;15;16;22;28c"
KITTY_GRAPHICS = b"\x1b_Gi=31;OK\x1b\\\x1bP>|kitty(0.35.2)\x1b\\\x1b[?62;c"
PLAIN_GRAPHICS = b"\x1b[?64;1;2;6;9;15;16;17;18;21;22;28c"


@pytest.mark.parametrize(
    ("reply", "protocol"),
    [(XTERM_VT340_GRAPHICS, "sixel"), (KITTY_GRAPHICS, "kitty"), (PLAIN_GRAPHICS, None)],
)
def test_the_graphics_protocol_is_read_from_the_replies(reply: bytes, protocol) -> None:
    assert terminal.parse_graphics_protocol(reply) == protocol


def test_the_input_thread_is_stopped_for_a_question_and_started_again() -> None:
    import threading

    from nst_tui.app.textual_driver import input_paused

    class Driver:  # what input_paused uses of Textual's LinuxDriver
        def __init__(self) -> None:
            self.exit_event = threading.Event()
            self.runs = 0
            self._key_thread = threading.Thread(target=self._run_input_thread)
            self._key_thread.start()

        def _run_input_thread(self) -> None:
            self.runs += 1
            while not self.exit_event.wait(0.01):
                pass

    class App:
        _driver = Driver()

    first = App._driver._key_thread
    with input_paused(App) as paused:
        assert paused and not first.is_alive()
    second = App._driver._key_thread
    assert second is not first and second.is_alive() and App._driver.runs == 2
    App._driver.exit_event.set()
    second.join()


def test_a_driver_without_an_input_thread_is_not_paused() -> None:
    from nst_tui.app.textual_driver import input_paused

    class App:
        _driver = None

    with input_paused(App) as paused:
        assert not paused


async def test_textuals_input_thread_stops_once_its_terminal_has_gone(monkeypatch) -> None:
    """Textual's own input thread on a real pty: a terminal that hung up (its other end
    closed, no SIGHUP) reads nothing at once, and the thread went round its loop at full
    speed until the process ended; the watch stops it. Kept going while the terminal is
    there."""
    import pty
    import signal
    import threading
    from types import SimpleNamespace

    from textual.drivers.linux_driver import LinuxDriver

    from nst_tui.app import textual_driver

    monkeypatch.setattr(textual_driver, "TERMINAL_CHECK_INTERVAL", 0.01)
    handlers = {number: signal.getsignal(number) for number in (signal.SIGTSTP, signal.SIGCONT)}
    driver = LinuxDriver(SimpleNamespace())  # it sets handlers for SIGTSTP and SIGCONT
    for number, handler in handlers.items():
        signal.signal(number, handler)
    master, slave = pty.openpty()
    driver.fileno = slave
    reading = threading.Thread(target=driver.run_input_thread, daemon=True)
    reading.start()
    try:
        assert textual_driver.stop_reading_a_gone_terminal(SimpleNamespace(_driver=driver))
        checked = 0
        real_check = textual_driver._terminal_is_there

        def counted(fileno: int) -> bool:
            nonlocal checked
            checked += 1
            return real_check(fileno)

        monkeypatch.setattr(textual_driver, "_terminal_is_there", counted)
        while checked < 5:  # the terminal is there: looked at, and the thread reads on
            time.sleep(0.01)
        assert reading.is_alive() and not driver.exit_event.is_set()
        os.close(master)
        master = None
        reading.join(timeout=60)
        assert not reading.is_alive() and driver.exit_event.is_set()
    finally:
        driver.exit_event.set()
        reading.join(timeout=5)
        os.close(slave)
        if master is not None:
            os.close(master)


def test_a_driver_without_a_terminal_is_not_watched() -> None:
    from types import SimpleNamespace

    from nst_tui.app.textual_driver import stop_reading_a_gone_terminal

    assert not stop_reading_a_gone_terminal(SimpleNamespace(_driver=None))
    assert not stop_reading_a_gone_terminal(SimpleNamespace(_driver=SimpleNamespace()))

"""Questions to the terminal: truecolor, before Textual owns it; graphics, then or later.

Over plain SSH the terminal's COLORTERM is not passed on, so Rich and Textual settle for 256
colours even where the terminal has 24-bit colour. Many terminals can be asked instead:

- DECRQSS for SGR (`ESC P $ q m ESC \\`) after setting a 24-bit foreground: a terminal that
  keeps 24-bit colours reports the same red, green and blue back (xterm, foot, WezTerm,
  Konsole, mlterm); one that maps them to its palette reports an index (`38;5;16`).
- XTGETTCAP (`ESC P + q <hex name> ESC \\`) for the terminfo flags `RGB` and `Tc` (kitty,
  foot, WezTerm, and xterm when built with it).
- XTSMGRAPHICS (`CSI ? 2 ; 1 S`): the largest Sixel image the terminal draws (xterm draws
  none larger than its maxGraphicSize, 1000x1000 unless configured otherwise).
- XTVERSION (`CSI > 0 q`): the terminal's name and version (kitty before 0.28 cannot show
  textual-image's Kitty-protocol pictures).
- The graphics protocol: Sixel where the Device Attributes list 4 (xterm -ti vt340, foot,
  WezTerm, mlterm), Kitty's where its graphics query (`ESC _ G ... a=q ...`) is answered OK.

The graphics questions are asked at start when the preview is in graphics, and again when
the user switches to graphics (the palette): then Textual's input thread is stopped for
the question (nst_tui/app/textual_driver.py), or the replies would be typed into the form.

Every query is followed by Primary Device Attributes (`CSI c`), which every terminal answers,
so a terminal that ignores the questions costs one round trip, not the whole timeout.

The parsing functions are pure (bytes in, answer out); `ask` does the terminal I/O.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import time

log = logging.getLogger("nst.app")

SGR_PROBE = b"\x1b[38;2;1;2;3m"  # a colour no palette holds: it comes back only as 24-bit
SGR_RESET = b"\x1b[0m"
DECRQSS_SGR = b"\x1bP$qm\x1b\\"
XTGETTCAP_RGB = b"\x1bP+q" + b"RGB".hex().encode() + b"\x1b\\"
XTGETTCAP_TC = b"\x1bP+q" + b"Tc".hex().encode() + b"\x1b\\"
XTSMGRAPHICS_SIXEL = b"\x1b[?2;1S"  # read the Sixel graphics geometry
XTVERSION = b"\x1b[>0q"  # the terminal's name and version
KITTY_GRAPHICS = b"\x1b_Gi=31,s=1,v=1,a=q,t=d,f=24;AAAA\x1b\\"  # a query: nothing drawn
PRIMARY_DA = b"\x1b[c"
ANSWER_TIMEOUT = 0.5  # seconds: the most a terminal that never answers DA costs at start

TRUECOLOR_QUERY = SGR_PROBE + DECRQSS_SGR + SGR_RESET + XTGETTCAP_RGB + XTGETTCAP_TC
GRAPHICS_QUERY = KITTY_GRAPHICS + XTSMGRAPHICS_SIXEL + XTVERSION
KITTY_PLACEHOLDERS = (0, 28)  # kitty draws textual-image's Unicode placeholders from 0.28

_DA_REPLY = re.compile(rb"\x1b\[\?[0-9;]*c")
_DECRQSS_REPLY = re.compile(rb"\x1bP([01])\$r([0-9;:]*)m?\x1b\\")
_XTGETTCAP_REPLY = re.compile(rb"\x1bP([01])\+r([0-9A-Fa-f;=]*)\x1b\\")
_PROBE_COLOUR = re.compile(rb"(?:^|[;:])38[;:]2[;:](?:\d*[;:])?1[;:]2[;:]3(?:$|[;:])")
_XTVERSION_REPLY = re.compile(rb"\x1bP>\|([^\x1b]*)\x1b\\")
_KITTY_VERSION = re.compile(r"kitty\((\d+)\.(\d+)")
_SIXEL_GEOMETRY_REPLY = re.compile(rb"\x1b\[\?2;0;(\d+);(\d+)S")
_DA_ATTRIBUTES = re.compile(rb"\x1b\[\?([0-9;]*)c")
_KITTY_GRAPHICS_OK = re.compile(rb"\x1b_Gi=31;OK\x1b\\")
SIXEL_ATTRIBUTE = b"4"  # in the Device Attributes: the terminal draws Sixel
_TRUECOLOR_NAMES = {b"RGB".hex().encode().upper(), b"Tc".hex().encode().upper()}


def has_da_reply(data: bytes) -> bool:
    """Whether the terminal's answers so far include the Device Attributes reply (the end)."""
    return _DA_REPLY.search(data) is not None


def parse_truecolor(data: bytes) -> bool | None:
    """Whether the replies to TRUECOLOR_QUERY say the terminal keeps 24-bit colours.

    True: the SGR came back with the probe's red, green and blue (`38;2;1;2;3`, or with
    colons `38:2::1:2:3`, the empty field being the colour space), or the terminal has the
    RGB or Tc capability. False: it reported the SGR otherwise (a palette colour such as
    `38;5;16`). None: no answer either way (an old terminal, or one that ignores both).
    """
    answer = None
    for valid, params in _DECRQSS_REPLY.findall(data):
        if valid == b"1":
            if _PROBE_COLOUR.search(params):
                return True
            answer = False
    for valid, body in _XTGETTCAP_REPLY.findall(data):
        if valid == b"1" and body.split(b"=")[0].upper() in _TRUECOLOR_NAMES:
            return True
    return answer


def parse_sixel_geometry(data: bytes) -> tuple[int, int] | None:
    """(width, height) in pixels of the largest Sixel image, from the XTSMGRAPHICS reply."""
    match = _SIXEL_GEOMETRY_REPLY.search(data)
    if match is None:
        return None
    width, height = int(match[1]), int(match[2])
    return (width, height) if width > 0 and height > 0 else None


def parse_graphics_protocol(data: bytes) -> str | None:
    """The protocol ("sixel", "kitty" or None) in the replies to GRAPHICS_QUERY and DA.

    Sixel first, as textual-image decides: a terminal with both draws Sixel more reliably
    through textual-image (Konsole and WezTerm answer Kitty's query but not its placement).
    """
    match = _DA_ATTRIBUTES.search(data)
    if match is not None and SIXEL_ATTRIBUTE in match[1].split(b";"):
        return "sixel"
    return "kitty" if _KITTY_GRAPHICS_OK.search(data) else None


def parse_version(data: bytes) -> str | None:
    """The terminal's name and version from the XTVERSION reply, e.g. "kitty(0.26.5)"."""
    match = _XTVERSION_REPLY.search(data)
    return match[1].decode("ascii", "replace") if match else None


def draws_kitty_placeholders(version: str | None) -> bool:
    """Whether the terminal can show textual-image's Kitty-protocol pictures.

    textual-image places them with Unicode placeholders, which kitty draws from 0.28 on;
    older kittys (Debian 12 has 0.26.5) show a field of placeholder glyphs instead.
    """
    match = _KITTY_VERSION.match(version or "")
    return match is None or (int(match[1]), int(match[2])) >= KITTY_PLACEHOLDERS


def ask(query: bytes, timeout: float = ANSWER_TIMEOUT) -> bytes:
    """Send `query` and Device Attributes; the bytes that came back until DA's reply.

    Only for a terminal on both stdin and stdout, before Textual starts or with its input
    thread stopped (it would take the replies). Returns b"" where that is not the case.
    The process's own stdin and stdout: Textual puts its own objects in `sys.stdout`.
    """
    try:
        import termios
    except ImportError:  # Windows: no questions, the defaults stand
        return b""
    stdin_file, stdout_file = sys.__stdin__, sys.__stdout__
    if stdin_file is None or stdout_file is None:
        return b""
    if not (stdin_file.isatty() and stdout_file.isatty()):
        return b""
    stdin, stdout = stdin_file.fileno(), stdout_file.fileno()
    try:
        saved = termios.tcgetattr(stdin)
    except termios.error:
        return b""
    quiet = list(saved)
    quiet[3] &= ~(termios.ICANON | termios.ECHO)  # byte by byte, and not shown
    quiet[6] = list(saved[6])
    quiet[6][termios.VMIN], quiet[6][termios.VTIME] = 0, 0
    data = b""
    try:
        termios.tcsetattr(stdin, termios.TCSANOW, quiet)
        os.write(stdout, query + PRIMARY_DA)
        data = _read_until_da(stdin, time.monotonic() + timeout)
    except OSError:
        pass
    finally:
        termios.tcsetattr(stdin, termios.TCSAFLUSH, saved)
    return data


def _read_until_da(stdin: int, deadline: float) -> bytes:
    import select

    data = b""
    while not has_da_reply(data):
        left = deadline - time.monotonic()
        if left <= 0:
            break
        ready, _, _ = select.select([stdin], [], [], left)
        if not ready:
            break
        chunk = os.read(stdin, 1024)
        if not chunk:
            break
        data += chunk
    return data


def wants_truecolor_question(environ: dict[str, str] | os._Environ[str]) -> bool:
    """Whether to ask: COLORTERM does not already say 24-bit, and the terminal is not dumb."""
    if environ.get("COLORTERM", "").strip().lower() in ("truecolor", "24bit"):
        return False
    if environ.get("TEXTUAL_COLOR_SYSTEM", "auto") != "auto":
        return False  # chosen by hand
    return environ.get("TERM", "dumb") not in ("dumb", "")


def use_truecolor_if_the_terminal_has_it() -> bool:
    """Ask the terminal; if it keeps 24-bit colour, set COLORTERM=truecolor for this process.

    Rich and Textual read COLORTERM when the app is made, so this runs before.
    """
    if not wants_truecolor_question(os.environ):
        return False
    if parse_truecolor(ask(TRUECOLOR_QUERY)):
        os.environ["COLORTERM"] = "truecolor"
        return True
    return False


SIXEL_LIMIT_UNANSWERED = (1000, 1000)  # xterm's default maxGraphicSize; it does not answer
_sixel_limit: tuple[int, int] | None = None
_version: str | None = None
_protocol: str | None = None  # "sixel" or "kitty" where the terminal said so
_asked = False  # whether the graphics questions were answered at all (a terminal was there)


def ask_graphics() -> None:
    """Ask the terminal's graphics protocol, its largest Sixel image and its version (kept).

    textual-image is imported first (its import asks the protocol and the cell size in
    pixels, which its widgets use), so that asking here too costs one round trip more.
    """
    global _sixel_limit, _version, _protocol, _asked
    try:
        import textual_image.widget  # noqa: F401  (the import is its probe)
    except Exception as error:  # not installed, or no terminal to ask: text previews
        log.debug("textual-image's probe failed: %s", error)
    answers = ask(GRAPHICS_QUERY)
    _asked = bool(answers)
    _protocol = parse_graphics_protocol(answers)
    _sixel_limit, _version = parse_sixel_geometry(answers), parse_version(answers)


def ask_graphics_while_running(app: object) -> bool:
    """`ask_graphics` with Textual running (the user switches the preview to graphics);
    whether the terminal could be asked (not in a test's app, nor where Textual's input
    thread cannot be stopped)."""
    from nst_tui.app import textual_driver

    with textual_driver.input_paused(app) as paused:
        if paused:
            ask_graphics()
    return paused and _asked


def graphics_protocol() -> str | None:
    """What the terminal answered to `ask_graphics` ("sixel", "kitty"), None if not asked
    or neither."""
    return _protocol


def graphics_asked() -> bool:
    """Whether the terminal answered the graphics questions (else textual-image's word)."""
    return _asked


def terminal_version() -> str | None:
    """The terminal's XTVERSION answer to `ask_graphics`, if any."""
    return _version


def sixel_limit() -> tuple[int, int]:
    """(width, height): the largest Sixel image the terminal said it draws, or xterm's default."""
    return _sixel_limit or SIXEL_LIMIT_UNANSWERED

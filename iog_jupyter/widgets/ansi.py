"""Render job logs with ANSI colours as safe HTML.

Only SGR sequences (``ESC [ … m``: colours, bold, italic, underline) become markup, and only as
``<span style>`` built from a fixed vocabulary and integers, never from the log's bytes. Every
other escape sequence is dropped: other CSI codes (cursor moves, erase), OSC sequences (window
titles, OSC-8 hyperlinks: only their visible text stays), and lone ``ESC`` characters. Text runs are
escaped with :func:`html.escape` before they reach the output, and C0 control characters other
than newline and tab are removed.
"""

from __future__ import annotations

import html
import re

#: The 16 basic colours (xterm defaults): 0-7 normal, 8-15 bright.
BASIC_COLOURS = (
    "#000000",
    "#cd3131",
    "#0dbc79",
    "#e5e510",
    "#2472c8",
    "#bc3fbc",
    "#11a8cd",
    "#e5e5e5",
    "#666666",
    "#f14c4c",
    "#23d18b",
    "#f5f543",
    "#3b8eea",
    "#d670d6",
    "#29b8db",
    "#ffffff",
)

# Order matters: OSC (terminated by BEL or ST, or unterminated up to the end), CSI, then any
# other two-byte escape, then a lone ESC; the remaining C0 controls are stripped from text runs.
_ESCAPE_RE = re.compile(
    r"\x1b\][^\x07\x1b]{0,4096}(?:\x07|\x1b\\|$)"  # OSC … BEL/ST (OSC-8 links, titles)
    r"|\x1b\[(?P<params>[0-?]*)(?P<inter>[ -/]*)(?P<final>[@-~])"  # CSI
    r"|\x1b[@-Z\\-_]"  # other Fe escapes (and a stray ST)
    r"|\x1b[ -/]*[0-~]?"  # nF/Fp escapes, or a lone ESC
)
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def xterm_256(index: int) -> str:
    """The ``#rrggbb`` colour of one of xterm's 256 palette entries."""
    if index < 16:
        return BASIC_COLOURS[index]
    if index < 232:
        index -= 16
        steps = [0 if v == 0 else 55 + v * 40 for v in (index // 36, (index // 6) % 6, index % 6)]
        return "#{:02x}{:02x}{:02x}".format(*steps)
    grey = 8 + (index - 232) * 10
    return f"#{grey:02x}{grey:02x}{grey:02x}"


#: The SGR codes that switch text attributes on or off.
_SWITCHES: dict[int, dict[str, bool]] = {
    1: {"bold": True},
    2: {"dim": True},
    3: {"italic": True},
    4: {"underline": True},
    22: {"bold": False, "dim": False},
    23: {"italic": False},
    24: {"underline": False},
}
#: Each attribute's CSS, in the order the CSS lists them.
_ATTRIBUTE_CSS = (
    ("bold", "font-weight:bold"),
    ("dim", "opacity:0.7"),
    ("italic", "font-style:italic"),
    ("underline", "text-decoration:underline"),
)


class _Style:
    """The current SGR state."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.fg: str | None = None
        self.bg: str | None = None
        self.bold = self.dim = self.italic = self.underline = False

    def css(self) -> str:
        parts = [f"color:{self.fg}"] if self.fg else []
        if self.bg:
            parts.append(f"background-color:{self.bg}")
        parts += [css for name, css in _ATTRIBUTE_CSS if getattr(self, name)]
        return ";".join(parts)

    def _extended(self, codes: list[int], i: int) -> tuple[str | None, int]:
        """Parse ``38;5;n`` / ``38;2;r;g;b`` at ``codes[i]``; returns the colour and next index."""
        if i + 1 < len(codes) and codes[i + 1] == 5 and i + 2 < len(codes):
            n = codes[i + 2]
            return (xterm_256(n) if 0 <= n < 256 else None), i + 3
        if i + 1 < len(codes) and codes[i + 1] == 2 and i + 4 < len(codes):
            rgb = codes[i + 2 : i + 5]
            if all(0 <= v < 256 for v in rgb):
                return "#{:02x}{:02x}{:02x}".format(*rgb), i + 5
            return None, i + 5
        return None, len(codes)

    def apply(self, params: str) -> None:
        """Apply one SGR parameter string (``"1;31"``); unknown codes are ignored."""
        try:
            codes = [int(p) if p else 0 for p in params.replace(":", ";").split(";")]
        except ValueError:
            return
        i = 0
        while i < len(codes):
            code = codes[i]
            i += 1
            if code == 0:
                self.reset()
            elif code in _SWITCHES:
                for name, on in _SWITCHES[code].items():
                    setattr(self, name, on)
            elif 30 <= code <= 37 or 90 <= code <= 97:  # normal, bright
                self.fg = BASIC_COLOURS[code % 10 + (8 if code >= 90 else 0)]
            elif 40 <= code <= 47 or 100 <= code <= 107:
                self.bg = BASIC_COLOURS[code % 10 + (8 if code >= 100 else 0)]
            elif code in (39, 49):  # default colour
                setattr(self, "fg" if code == 39 else "bg", None)
            elif code in (38, 48):
                colour, i = self._extended(codes, i - 1)
                setattr(self, "fg" if code == 38 else "bg", colour)


def ansi_to_html(text: str) -> str:
    """Escape log text, with its ANSI SGR-styled runs in ``<span style="…">`` (no outer element)."""
    out: list[str] = []
    style = _Style()

    def emit(chunk: str) -> None:
        chunk = _CONTROL_RE.sub("", chunk.replace("\r\n", "\n"))
        if not chunk:
            return
        escaped = html.escape(chunk, quote=True)
        css = style.css()
        out.append(f'<span style="{css}">{escaped}</span>' if css else escaped)

    pos = 0
    for match in _ESCAPE_RE.finditer(text):
        emit(text[pos : match.start()])
        pos = match.end()
        if match.group("final") == "m" and not match.group("inter"):
            style.apply(match.group("params"))
    emit(text[pos:])
    return "".join(out)


def log_html(text: str) -> str:
    """A whole log as a scrolling ``<pre>`` block (see :func:`ansi_to_html`)."""
    return (
        '<pre class="iog-job-log" style="max-height:360px;overflow:auto;margin:0;'
        'font-size:12px;white-space:pre-wrap">' + ansi_to_html(text) + "</pre>"
    )

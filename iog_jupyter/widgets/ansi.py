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
    "#000000 #cd3131 #0dbc79 #e5e510 #2472c8 #bc3fbc #11a8cd #e5e5e5 "
    "#666666 #f14c4c #23d18b #f5f543 #3b8eea #d670d6 #29b8db #ffffff"
).split()

# Order matters: OSC (terminated by BEL or ST, or unterminated up to the end), CSI, then any
# other two-byte escape, then a lone ESC; the remaining C0 controls are stripped from text runs.
_ESCAPE_RE = re.compile(
    r"\x1b\][^\x07\x1b]{0,4096}(?:\x07|\x1b\\|$)"  # OSC … BEL/ST (OSC-8 links, titles)
    r"|\x1b\[(?P<params>[0-?]*)(?P<inter>[ -/]*)(?P<final>[@-~])"  # CSI
    r"|\x1b[@-Z\\-_]"  # other Fe escapes (and a stray ST)
    r"|\x1b[ -/]*[0-~]?"  # nF/Fp escapes, or a lone ESC
)
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")

#: SGR codes that switch an attribute on: its CSS property and value.
_SWITCH_ON = {
    1: ("font-weight", "bold"),
    2: ("opacity", "0.7"),
    3: ("font-style", "italic"),
    4: ("text-decoration", "underline"),
}
#: The CSS properties a span may set, in the order its style lists them.
_CSS_ORDER = ("color", "background-color", *(name for name, _ in _SWITCH_ON.values()))
#: SGR codes that switch attributes off (22 ends bold and dim) or restore a default colour.
_SWITCH_OFF = {
    22: ("font-weight", "opacity"),
    23: ("font-style",),
    24: ("text-decoration",),
    39: ("color",),
    49: ("background-color",),
}


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


def _extended(codes: list[int], i: int) -> tuple[str | None, int]:
    """Parse ``38;5;n`` / ``38;2;r;g;b`` at ``codes[i]``; returns the colour and next index."""
    if i + 2 < len(codes) and codes[i + 1] == 5:
        n = codes[i + 2]
        return (xterm_256(n) if 0 <= n < 256 else None), i + 3
    if i + 4 < len(codes) and codes[i + 1] == 2:
        rgb = codes[i + 2 : i + 5]
        colour = "#{:02x}{:02x}{:02x}".format(*rgb) if all(0 <= v < 256 for v in rgb) else None
        return colour, i + 5
    return None, len(codes)


def _apply_sgr(style: dict[str, str], params: str) -> None:
    """Apply one SGR parameter string (``"1;31"``) to ``style``; unknown codes are ignored."""
    try:
        codes = [int(p) if p else 0 for p in params.replace(":", ";").split(";")]
    except ValueError:
        return
    i = 0
    while i < len(codes):
        code, i = codes[i], i + 1
        if code == 0:
            style.clear()
        elif code in _SWITCH_ON:
            name, value = _SWITCH_ON[code]
            style[name] = value
        elif code in _SWITCH_OFF:
            for name in _SWITCH_OFF[code]:
                style.pop(name, None)
        elif 30 <= code <= 37 or 90 <= code <= 97:  # normal, bright
            style["color"] = BASIC_COLOURS[code % 10 + (8 if code >= 90 else 0)]
        elif 40 <= code <= 47 or 100 <= code <= 107:
            style["background-color"] = BASIC_COLOURS[code % 10 + (8 if code >= 100 else 0)]
        elif code in (38, 48):
            name = "color" if code == 38 else "background-color"
            colour, i = _extended(codes, i - 1)
            if colour is None:
                style.pop(name, None)
            else:
                style[name] = colour


def ansi_to_html(text: str) -> str:
    """Escape log text, with its ANSI SGR-styled runs in ``<span style="…">`` (no outer element)."""
    out: list[str] = []
    style: dict[str, str] = {}  # CSS property -> value, from the SGR codes so far

    def emit(chunk: str) -> None:
        chunk = _CONTROL_RE.sub("", chunk.replace("\r\n", "\n"))
        if not chunk:
            return
        escaped = html.escape(chunk, quote=True)
        css = ";".join(f"{name}:{style[name]}" for name in _CSS_ORDER if name in style)
        out.append(f'<span style="{css}">{escaped}</span>' if css else escaped)

    pos = 0
    for match in _ESCAPE_RE.finditer(text):
        emit(text[pos : match.start()])
        pos = match.end()
        if match.group("final") == "m" and not match.group("inter"):
            _apply_sgr(style, match.group("params"))
    emit(text[pos:])
    return "".join(out)


def log_html(text: str) -> str:
    """A whole log as a scrolling ``<pre>`` block (see :func:`ansi_to_html`)."""
    return (
        '<pre class="iog-job-log" style="max-height:360px;overflow:auto;margin:0;'
        'font-size:12px;white-space:pre-wrap">' + ansi_to_html(text) + "</pre>"
    )

/**
 * A small ANSI escape-sequence reader for job logs.
 *
 * It turns one line of log text into plain-text segments with CSS classes
 * for the SGR attributes (colours, bold, italic, underline). Every other
 * escape sequence is dropped: cursor movement, OSC window titles and OSC-8
 * hyperlinks (only the link's visible text is kept, the target is never
 * used), so nothing in a log can become a link or markup. The output is
 * text; callers put it in the page through text nodes.
 *
 * The reader works on whole lines: `JobLogModel` keeps the text after the
 * last newline of a chunk until the next chunk completes it, so an escape
 * sequence (or a multi-byte character) split across websocket messages is
 * read once it is whole. An unfinished sequence at the end of a line is
 * dropped, never shown as text.
 */

/** The SGR state carried from one segment (and one line) to the next. */
export interface IAnsiStyle {
  /** Foreground colour index 0–15, or null for the default. */
  fg: number | null;
  /** Background colour index 0–15, or null for the default. */
  bg: number | null;
  /** Bold. */
  bold: boolean;
  /** Dim (faint). */
  dim: boolean;
  /** Italic. */
  italic: boolean;
  /** Underline. */
  underline: boolean;
}

/** A run of text with one style. */
export interface IAnsiSegment {
  /** The text, with every control character removed. */
  text: string;
  /** CSS classes for the style (`iog-ansi-fg-1`, `iog-ansi-bold`, ...). */
  classes: string[];
}

/** The style with nothing set. */
export function defaultStyle(): IAnsiStyle {
  return {
    fg: null,
    bg: null,
    bold: false,
    dim: false,
    italic: false,
    underline: false
  };
}

/**
 * Split one line into styled segments.
 *
 * A carriage return keeps only what follows it (progress bars redraw the
 * line), unless nothing follows.
 *
 * @param line One line of log text (or the unfinished end of one), without
 *   its newline.
 * @param style The style in force where the line starts; not modified.
 * @returns The segments, the style in force where the line ends, and where
 *   the last redraw starts: the index of the last carriage return that
 *   printable text follows (one inside an OSC sequence does not count), or
 *   -1. What is before it is hidden; only the SGR style it leaves matters.
 */
export function parseAnsiLine(
  line: string,
  style: IAnsiStyle = defaultStyle()
): { segments: IAnsiSegment[]; style: IAnsiStyle; redraw: number } {
  const current: IAnsiStyle = { ...style };
  const segments: IAnsiSegment[] = [];
  let text = '';
  const flush = (): void => {
    if (text) {
      const classes = classesOf(current);
      const last = segments[segments.length - 1];
      if (last && last.classes.join(' ') === classes.join(' ')) {
        last.text += text;
      } else {
        segments.push({ text, classes });
      }
      text = '';
    }
  };
  // A carriage return clears the line once printable text follows it.
  let pending = -1;
  let redraw = -1;
  let i = 0;
  const n = line.length;
  while (i < n) {
    const ch = line.charCodeAt(i);
    if (Private.isPrintable(ch)) {
      if (pending >= 0) {
        text = '';
        segments.length = 0;
        redraw = pending;
        pending = -1;
      }
      // A run of printable characters (tab included) goes in as one slice.
      let j = i + 1;
      while (j < n && Private.isPrintable(line.charCodeAt(j))) {
        j++;
      }
      text += line.slice(i, j);
      i = j;
      continue;
    }
    if (ch === 0x1b) {
      const next = line[i + 1];
      if (next === '[') {
        const end = Private.csiEnd(line, i + 2);
        if (end < 0) {
          break; // an unfinished sequence at the end: drop it
        }
        if (line[end] === 'm') {
          flush();
          Private.applySgr(current, line.slice(i + 2, end));
        }
        i = end + 1;
        continue;
      }
      if (next === ']') {
        // OSC: up to BEL or ESC \ (an OSC-8 link's target goes with it).
        i = Private.oscEnd(line, i + 2);
        continue;
      }
      // Another two-character escape (ESC 7, ESC =, ...).
      i += next === undefined ? 1 : 2;
      continue;
    }
    if (ch === 0x0d) {
      pending = i;
    }
    // Every other control character is dropped.
    i += 1;
  }
  flush();
  return { segments, style: current, redraw };
}

/**
 * The CSS classes of a style.
 *
 * @returns Its classes; empty for the default style.
 */
export function classesOf(style: IAnsiStyle): string[] {
  const classes: string[] = [];
  for (const layer of ['fg', 'bg'] as const) {
    if (style[layer] !== null) {
      classes.push(`iog-ansi-${layer}-${style[layer]}`);
    }
  }
  for (const flag of ['bold', 'dim', 'italic', 'underline'] as const) {
    if (style[flag]) {
      classes.push(`iog-ansi-${flag}`);
    }
  }
  return classes;
}

/** Module-private helpers. */
namespace Private {
  /**
   * The index of a CSI sequence's final byte, or -1 when the line ends first.
   *
   * @returns The final byte's index, or -1.
   */
  export function csiEnd(line: string, start: number): number {
    for (let j = start; j < line.length; j++) {
      const code = line.charCodeAt(j);
      if (code >= 0x40 && code <= 0x7e) {
        return j;
      }
      if (code < 0x20 || code > 0x3f) {
        // Not a parameter or intermediate byte: the broken sequence ends
        // just before it (the caller resumes at this character).
        return j - 1;
      }
    }
    return -1;
  }

  /**
   * The index just past an OSC sequence's terminator (BEL or ESC \), or the
   * line's length when it has none.
   */
  export function oscEnd(line: string, start: number): number {
    for (let j = start; j < line.length; j++) {
      const code = line.charCodeAt(j);
      if (code === 0x07) {
        return j + 1;
      }
      if (code === 0x1b && line[j + 1] === '\\') {
        return j + 2;
      }
    }
    return line.length;
  }

  /**
   * Whether a UTF-16 code unit is shown: a tab, or not a control character
   * (C0, DEL or C1).
   */
  export function isPrintable(code: number): boolean {
    return (
      code === 0x09 ||
      !(code < 0x20 || code === 0x7f || (code >= 0x80 && code < 0xa0))
    );
  }

  /** The SGR codes that set or clear attributes, and what they change. */
  const SET: Record<number, Partial<IAnsiStyle>> = {
    1: { bold: true },
    2: { dim: true },
    3: { italic: true },
    4: { underline: true },
    22: { bold: false, dim: false },
    23: { italic: false },
    24: { underline: false },
    39: { fg: null },
    49: { bg: null }
  };

  /** Apply SGR parameters to a style. */
  export function applySgr(style: IAnsiStyle, params: string): void {
    const codes = params === '' ? [0] : params.split(/[;:]/).map(Number);
    for (let k = 0; k < codes.length; k++) {
      const code = codes[k];
      if (!Number.isFinite(code) || code === 0) {
        Object.assign(style, defaultStyle());
      } else if (SET[code]) {
        Object.assign(style, SET[code]);
      } else if (code >= 30 && code <= 37) {
        style.fg = code - 30;
      } else if (code >= 40 && code <= 47) {
        style.bg = code - 40;
      } else if (code >= 90 && code <= 97) {
        style.fg = code - 90 + 8;
      } else if (code >= 100 && code <= 107) {
        style.bg = code - 100 + 8;
      } else if (code === 38 || code === 48) {
        // 38;5;n (256 colours: the first 16 map to classes) or 38;2;r;g;b.
        const mode = codes[k + 1];
        if (mode === 5) {
          const index = codes[k + 2];
          style[code === 38 ? 'fg' : 'bg'] =
            index >= 0 && index < 16 ? index : null;
          k += 2;
        } else if (mode === 2) {
          k += 4;
        }
      }
    }
  }
}

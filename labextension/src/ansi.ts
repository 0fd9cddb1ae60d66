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
 * The reader works on whole lines: `LogWindow` keeps the text after the
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
  // A carriage return clears the line once printable text follows it.
  let pending = -1;
  let redraw = -1;
  const tokens = new RegExp(Private.TOKEN);
  let match: RegExpExecArray | null;
  while ((match = tokens.exec(line)) !== null) {
    const [token, text, sgr, final] = match;
    if (text !== undefined) {
      if (pending >= 0) {
        segments.length = 0;
        redraw = pending;
        pending = -1;
      }
      const classes = classesOf(current);
      const last = segments[segments.length - 1];
      if (last && last.classes.join(' ') === classes.join(' ')) {
        last.text += text;
      } else {
        segments.push({ text, classes });
      }
    } else if (final === 'm') {
      Private.applySgr(current, sgr);
    } else if (token === '\r') {
      pending = match.index;
    }
  }
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
   * The tokens of a line, each matched in turn (every character is part of
   * one):
   * 1. a run of printable characters: a tab, or not a control character
   *    (C0, DEL or C1);
   * 2. a CSI sequence, with its parameters and final byte; an unfinished or
   *    broken one ends before the first byte that does not belong to it;
   * 3. an OSC sequence up to BEL, ESC \ or the end of the line (an OSC-8
   *    link's target goes with it);
   * 4. another two-character escape (ESC 7, ESC =, ...);
   * 5. any other control character (a carriage return among them).
   * Only 1 is shown, and only the SGR form of 2 (final byte `m`) is used.
   */
  export const TOKEN =
    // eslint-disable-next-line no-control-regex
    /([^\x00-\x08\x0a-\x1f\x7f-\x9f]+)|\x1b\[([\x20-\x3f]*)([\x40-\x7e])?|\x1b\][^]*?(?:\x07|\x1b\\|$)|\x1b[^]?|[^]/g;

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

import { defaultStyle, IAnsiSegment, IAnsiStyle, parseAnsiLine } from '../ansi';

/**
 * A bounded window onto a log: parsed lines with the byte range they cover.
 *
 * Text arrives in chunks that may end anywhere; the text after a chunk's
 * last newline is kept as the partial last line until a later chunk
 * completes it, so a line, an ANSI escape sequence or a character split
 * across chunks is parsed once it is whole. The window holds at most
 * `maxLines` lines, the partial line included: appending drops lines from
 * the front, `dropEnd()` from the back. Lines live in a ring (an array and
 * a head index, compacted now and then), so dropping is cheap whatever the
 * bound.
 *
 * Byte offsets count UTF-8 bytes as the server does. A line's size is
 * computed from its decoded text, which is exact for valid UTF-8; bytes the
 * server could not decode (shown as U+FFFD) may shift the offsets of the
 * dropped lines by a few bytes.
 */
export class LogWindow {
  /** Create an empty window at byte offset 0. */
  constructor(options: LogWindow.IOptions) {
    this.maxLines = Math.max(1, Math.floor(options.maxLines));
  }

  /** The most lines kept, the partial line included. */
  readonly maxLines: number;

  /** How many complete lines are kept. */
  get length(): number {
    return this._lines.length - this._head;
  }

  /**
   * A kept line.
   *
   * @param index 0 for the oldest kept line, up to `length - 1`.
   */
  lineAt(index: number): LogWindow.ILine {
    return this._lines[this._head + index];
  }

  /**
   * The sequence number of the oldest kept line; the line at `index` has
   * number `firstSeq + index`. A number names the same line of the log
   * until `generation` changes, so a view can key its nodes by it.
   */
  get firstSeq(): number {
    return this._firstSeq;
  }

  /**
   * Bumped by `reset()`: sequence numbers of an older generation mean
   * nothing any more.
   */
  get generation(): number {
    return this._generation;
  }

  /** The byte offset where the oldest kept line starts. */
  get firstOffset(): number {
    return this._firstOffset;
  }

  /** The partial last line's segments, or null when there is none. */
  get partial(): IAnsiSegment[] | null {
    return this._partial
      ? parseAnsiLine(this._partial, this._style).segments
      : null;
  }

  /** Whether a new line would drop the oldest one. */
  get isFull(): boolean {
    return this.length + (this._partial ? 1 : 0) >= this.maxLines;
  }

  /**
   * Append log text that follows what the window holds.
   *
   * @param text The text; it may end inside a line.
   */
  append(text: string): void {
    if (!text) {
      return;
    }
    const pieces = (this._partial + text).split('\n');
    this._partial = pieces.pop() ?? '';
    for (const raw of pieces) {
      this._push(raw, 1);
    }
    if (this._partial.length > Private.PARTIAL_COMPACT_CHARS) {
      this._compactPartial();
    }
    this._trimFront();
  }

  /** Turn the partial line into a complete one (the log has ended). */
  finish(): void {
    if (!this._partial) {
      return;
    }
    this._push(this._partial, 0);
    this._partial = '';
    this._trimFront();
  }

  /**
   * Put earlier log text in front of the oldest kept line. When the window
   * has no room, the partial line and the newest lines are dropped; when
   * the text alone has more than `maxLines` lines, only its last ones are
   * kept.
   *
   * @param text The text that ends where the oldest kept line starts: lines
   *   ending in a newline, the last one possibly without (a piece of a line
   *   longer than a page).
   * @param firstOffset The byte offset `text` starts at.
   * @returns How many lines were added, and whether the end of the window
   *   was dropped to make room (it no longer reaches the end of the log).
   */
  prepend(
    text: string,
    firstOffset: number
  ): { added: number; madeRoom: boolean } {
    const raws = text.split('\n');
    const lastHasNewline = raws[raws.length - 1] === '';
    if (lastHasNewline) {
      raws.pop();
    }
    let style = defaultStyle();
    const parsed: LogWindow.ILine[] = raws.map((raw, i) => {
      const result = parseAnsiLine(raw, style);
      style = result.style;
      const newline = i < raws.length - 1 || lastHasNewline ? 1 : 0;
      return {
        segments: result.segments,
        bytes: LogWindow.utf8Length(raw) + newline
      };
    });
    if (parsed.length > this.maxLines) {
      const cut = parsed.splice(0, parsed.length - this.maxLines);
      firstOffset += cut.reduce((sum, line) => sum + line.bytes, 0);
    }
    const count = parsed.length;
    if (count === 0) {
      return { added: 0, madeRoom: false };
    }
    const room = this.maxLines - this.length - (this._partial ? 1 : 0);
    const makeRoom = count > room;
    if (makeRoom) {
      // The partial line is the newest: it goes first, then whole lines.
      this.dropEnd(Math.max(0, this.length + count - this.maxLines));
    }
    if (this._head >= count) {
      this._head -= count;
      for (let i = 0; i < count; i++) {
        this._lines[this._head + i] = parsed[i];
      }
    } else {
      this._lines = parsed.concat(this._lines.slice(this._head));
      this._head = 0;
    }
    this._firstSeq -= count;
    this._firstOffset = Math.max(0, firstOffset);
    return { added: count, madeRoom: makeRoom };
  }

  /** Drop the partial line and `count` complete lines from the end. */
  dropEnd(count: number): void {
    const drop = Math.min(Math.max(0, count), this.length);
    this._lines.length -= drop;
    this._partial = '';
    this._partialDropped = 0;
  }

  /**
   * Empty the window and place it at a byte offset, with a new generation.
   *
   * @param offset Where the next appended text starts.
   */
  reset(offset: number): void {
    this._lines = [];
    this._head = 0;
    this._partial = '';
    this._partialDropped = 0;
    this._style = defaultStyle();
    this._firstOffset = offset;
    this._firstSeq = 0;
    this._generation += 1;
  }

  /**
   * Complete the partial line `raw` (with the bytes compaction dropped).
   *
   * @param newline 1 when a newline ends it, else 0.
   */
  private _push(raw: string, newline: number): void {
    const parsed = parseAnsiLine(raw, this._style);
    this._style = parsed.style;
    const bytes = LogWindow.utf8Length(raw) + newline + this._partialDropped;
    this._partialDropped = 0;
    this._lines.push({ segments: parsed.segments, bytes });
  }

  /**
   * Keep a long partial line short: a progress bar that redraws itself
   * with carriage returns and never ends its line would otherwise grow
   * without bound and be read again on every update. What the last
   * carriage return hides is dropped (its bytes and style are kept); a
   * line longer than `PARTIAL_MAX_CHARS` without one is shown in pieces.
   */
  private _compactPartial(): void {
    const partial = this._partial;
    const cut = parseAnsiLine(partial).redraw;
    if (cut > 0) {
      const hidden = partial.slice(0, cut);
      this._style = parseAnsiLine(hidden, this._style).style;
      this._partialDropped += LogWindow.utf8Length(hidden);
      this._partial = partial.slice(cut);
    }
    if (this._partial.length > Private.PARTIAL_MAX_CHARS) {
      this._push(this._partial, 0);
      this._partial = '';
    }
  }

  private _trimFront(): void {
    const limit = this.maxLines - (this._partial ? 1 : 0);
    const excess = this.length - limit;
    if (excess <= 0) {
      return;
    }
    for (let i = 0; i < excess; i++) {
      this._firstOffset += this._lines[this._head + i].bytes;
      // Release the dropped line for the garbage collector.
      this._lines[this._head + i] = Private.DROPPED;
    }
    this._head += excess;
    this._firstSeq += excess;
    if (this._head > 1024 && this._head * 2 > this._lines.length) {
      this._lines = this._lines.slice(this._head);
      this._head = 0;
    }
  }

  private _lines: LogWindow.ILine[] = [];
  private _head = 0;
  private _partial = '';
  private _partialDropped = 0;
  private _style: IAnsiStyle = defaultStyle();
  private _firstSeq = 0;
  private _generation = 0;
  private _firstOffset = 0;
}

/** A namespace for `LogWindow` statics. */
export namespace LogWindow {
  /** One parsed line. */
  export interface ILine {
    /** The line's styled text segments. */
    segments: IAnsiSegment[];
    /** The line's size in the log, its newline included, in bytes. */
    bytes: number;
  }

  /** Options to create a `LogWindow`. */
  export interface IOptions {
    /** The most lines kept, the partial line included (at least 1). */
    maxLines: number;
  }

  /**
   * The UTF-8 size of a string, as the server counts it.
   *
   * @returns Its size in bytes (a lone surrogate counts as U+FFFD, 3 bytes).
   */
  export function utf8Length(text: string): number {
    return Private.ENCODER.encode(text).length;
  }
}

/** Module-private helpers. */
namespace Private {
  /** A partial line longer than this (UTF-16 code units) is compacted. */
  export const PARTIAL_COMPACT_CHARS = 4096;

  /**
   * A partial line still longer than this after compaction is shown as a
   * piece of a line.
   */
  export const PARTIAL_MAX_CHARS = 65536;

  /** What a dropped slot of the ring holds until it is compacted away. */
  export const DROPPED: LogWindow.ILine = { segments: [], bytes: 0 };

  /** Encodes text as the server counts it. */
  export const ENCODER = new TextEncoder();
}

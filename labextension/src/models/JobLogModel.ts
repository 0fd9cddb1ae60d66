import { LogTail } from './LogTail';
import { LogWindow } from './LogWindow';

/**
 * A job's log as the log panel shows it: a bounded window of parsed lines,
 * fed live by the log's tail (see `LogTail`) and extended backwards by byte
 * pages that end at a given offset and start at a line start.
 *
 * The window keeps at most `maxLines` lines. While it is *attached* (the
 * usual case) new text is appended and the oldest lines are dropped.
 * "Load earlier" fetches the byte page before the oldest line; when the
 * window is full, the newest lines make room and the window *detaches*:
 * the tail still runs (for the final status) but its text is not kept.
 * `jumpToEnd()` rebuilds the window from the last page and resumes the
 * tail from there, so nothing is lost or doubled either way.
 */
export class JobLogModel extends LogTail {
  /** Create a model; call `start()` to open the tail. */
  constructor(options: JobLogModel.IOptions) {
    super(options);
    this._pageBytes = Math.max(4, options.pageBytes ?? 128 * 1024);
    this.window = new LogWindow({ maxLines: options.maxLines });
  }

  /** The window of kept lines. */
  readonly window: LogWindow;

  /** Whether the log has bytes before the oldest kept line. */
  get hasEarlier(): boolean {
    return this.window.firstOffset > 0;
  }

  /**
   * Whether the window stopped following the end of the log (after "Load
   * earlier" filled it); `jumpToEnd()` attaches it again.
   */
  get detached(): boolean {
    return this._detached;
  }

  /** Whether a page request ("Load earlier", "Jump to end") is under way. */
  get busy(): boolean {
    return this._busy;
  }

  /**
   * Fetch the byte page before the oldest kept line and put its whole
   * lines in front; when the window is full, the newest lines make room and
   * the window detaches.
   *
   * @throws The service's error (an `IogResponseError` with the server's
   *   message) when the page cannot be fetched.
   */
  async loadEarlier(): Promise<number> {
    const window = this.window;
    const end = window.firstOffset;
    const generation = window.generation;
    if (end <= 0 || this.isDisposed || this._busy) {
      return 0;
    }
    if (!this._detached && window.isFull) {
      // A full window would drop its oldest lines as the log goes on, so
      // the page would no longer fit in front: stop following first.
      window.dropEnd(0);
      this._detached = true;
    }
    const { text, offset } = await this._withBusy(() => this._linesBefore(end));
    if (
      this.isDisposed ||
      window.generation !== generation ||
      window.firstOffset !== end
    ) {
      return 0;
    }
    const { added, madeRoom } = window.prepend(text, offset);
    if (madeRoom) {
      this._detached = true;
    }
    this.emitChanged();
    return added;
  }

  /**
   * Follow the end of the log again after the window detached: rebuild it
   * from the last page and resume the tail where that page ends.
   *
   * @throws The service's error when the page cannot be fetched.
   */
  async jumpToEnd(): Promise<void> {
    if (!this._detached || this.isDisposed || this._busy) {
      return;
    }
    const end = this.nextOffset;
    const lines = await this._withBusy(() => this._linesBefore(end));
    if (this.isDisposed || !this._detached) {
      return;
    }
    this.window.reset(lines.offset);
    this.window.append(lines.text);
    this._detached = false;
    if (this.nextOffset !== lines.nextOffset) {
      // The tail ran on while the page was fetched: resume at the page's end.
      this.resumeFrom(lines.nextOffset);
    }
    if (this.phase === 'ended' || this.phase === 'error') {
      this.window.finish(); // no more text comes: the partial last line is whole
    }
    this.emitChanged();
  }

  /** Append the tail's text to the window while it is attached. */
  protected onText(text: string): void {
    if (!this._detached) {
      this.window.append(text);
      this.emitChanged();
    }
  }

  /** The log has ended: its partial last line is complete. */
  protected onEnd(): void {
    if (!this._detached) {
      this.window.finish();
    }
  }

  private async _withBusy<T>(task: () => Promise<T>): Promise<T> {
    this._busy = true;
    this.emitChanged();
    try {
      return await task();
    } finally {
      this._busy = false;
      this.emitChanged();
    }
  }

  /**
   * The whole lines of the page that ends at `end`: `text` covers the bytes
   * `[offset, nextOffset)`.
   *
   * The page starts one byte before `pageBytes` back, so that when that
   * byte is a newline, "drop the partial first line" keeps the line that
   * starts right after it.
   *
   * @throws The service's error when the page cannot be fetched.
   */
  private async _linesBefore(
    end: number
  ): Promise<{ text: string; offset: number; nextOffset: number }> {
    const id = this.submissionId;
    const start = Math.max(0, end - this._pageBytes - 1);
    let page = await this.service.getLogPage(id, start, end - start);
    const size = page.next_offset - page.offset;
    if (page.next_offset < end && size > 0) {
      // The server sent less than asked: ask again for a page it serves
      // whole, ending exactly at `end`, and ask for no more from now on.
      this._pageBytes = Math.max(1, size - 1);
      const retry = Math.max(0, end - size);
      page = await this.service.getLogPage(id, retry, end - retry);
    }
    // A page that starts after byte 0 may start inside a line, so the text
    // up to its first newline is left out; its byte offset is then counted
    // back from the page's end, as the first bytes may be the tail of a split
    // character (sent as U+FFFD). A page with no line start but its end is a
    // piece of a line longer than a page: it is kept whole.
    const nextOffset = page.next_offset;
    const cut = page.text.indexOf('\n');
    if (page.offset === 0 || cut < 0 || cut === page.text.length - 1) {
      return { text: page.text, offset: page.offset, nextOffset };
    }
    const text = page.text.slice(cut + 1);
    const offset = nextOffset - LogWindow.utf8Length(text);
    return { text, offset, nextOffset };
  }

  private _pageBytes: number;
  private _detached = false;
  private _busy = false;
}

/** A namespace for `JobLogModel` statics. */
export namespace JobLogModel {
  /** Options to create a `JobLogModel`: the tail's, and the window's. */
  export interface IOptions extends LogTail.IOptions {
    /** How many lines to keep, the partial last line included. */
    maxLines: number;
    /**
     * Bytes per page for "Load earlier" and "Jump to end" (default 128 KiB;
     * the server refuses more than `IogJupyterApp.log_page_max_bytes`).
     */
    pageBytes?: number;
  }
}

import type { LogsService } from '../api/services';
import type { LogPage } from '../api/types';
import { LogWindow } from './LogWindow';

/**
 * Reads a job's log backwards by byte pages ("Load earlier", "Jump to
 * end"): each read ends at a given byte offset and starts at a line start.
 */
export class LogPager {
  /**
   * Create a pager.
   *
   * @param options The pager options.
   */
  constructor(options: LogPager.IOptions) {
    this.submissionId = options.submissionId;
    this._service = options.service;
    this._pageBytes = Math.max(4, options.pageBytes ?? 128 * 1024);
  }

  /** The job this log belongs to. */
  readonly submissionId: string;

  /**
   * The whole lines of the page that ends at `end`.
   *
   * @param end The byte offset the page ends at.
   * @returns The lines' text and byte range.
   * @throws The service's error (an `IogResponseError` with the server's
   *   message) when the page cannot be fetched.
   */
  async linesBefore(end: number): Promise<LogPager.ILines> {
    const page = await this._pageBefore(end);
    return { ...Private.fromFirstLine(page), nextOffset: page.next_offset };
  }

  /**
   * Fetch the page that ends at `end`.
   *
   * The page starts one byte before `pageBytes` back, so that when that
   * byte is a newline, "drop the partial first line" keeps the line that
   * starts right after it.
   *
   * @param end The byte offset the page ends at.
   * @returns The page.
   */
  private async _pageBefore(end: number): Promise<LogPage> {
    const start = Math.max(0, end - this._pageBytes - 1);
    const page = await this._service.getLogPage(
      this.submissionId,
      start,
      end - start
    );
    const size = page.next_offset - page.offset;
    if (page.next_offset < end && size > 0) {
      // The server sent less than asked: ask again for a page it serves
      // whole, ending exactly at `end`, and ask for no more from now on.
      this._pageBytes = Math.max(1, size - 1);
      const retry = Math.max(0, end - size);
      return this._service.getLogPage(this.submissionId, retry, end - retry);
    }
    return page;
  }

  private _service: LogsService;
  private _pageBytes: number;
}

/**
 * A namespace for `LogPager` statics.
 */
export namespace LogPager {
  /**
   * Whole lines of a log: `text` covers the bytes `[offset, nextOffset)`.
   */
  export interface ILines {
    text: string;
    offset: number;
    nextOffset: number;
  }

  /**
   * Options to create a `LogPager`.
   */
  export interface IOptions {
    /**
     * The job.
     */
    submissionId: string;
    /**
     * The service that fetches pages.
     */
    service: LogsService;
    /**
     * Bytes per page (default 128 KiB; the server refuses more than
     * `IogJupyterApp.log_page_max_bytes`).
     */
    pageBytes?: number;
  }
}

/**
 * Module-private helpers.
 */
namespace Private {
  /**
   * A page's text from its first line start on.
   *
   * A page that starts after byte 0 may start inside a line, so the text
   * up to its first newline is left out; its byte offset is then counted
   * back from the page's end, as the first bytes may be the tail of a split
   * character (sent as U+FFFD). A page with no line start but its end is a
   * piece of a line longer than a page: it is kept whole.
   *
   * @param page The page.
   * @returns The text and the byte offset it starts at.
   */
  export function fromFirstLine(page: LogPage): {
    text: string;
    offset: number;
  } {
    const cut = page.text.indexOf('\n');
    if (page.offset === 0 || cut < 0 || cut === page.text.length - 1) {
      return { text: page.text, offset: page.offset };
    }
    const text = page.text.slice(cut + 1);
    return { text, offset: page.next_offset - LogWindow.utf8Length(text) };
  }
}

import { ISignal, Signal } from '@lumino/signaling';

import { IogResponseError } from '../api/request';
import type { JobsService, LogsService } from '../api/services';
import type { IogSocket } from '../api/socket';
import type { LogTailMessage } from '../api/types';
import { Disposable } from './Disposable';
import { LogWindow } from './LogWindow';

/**
 * A job's log as the log panel shows it: a bounded window of parsed lines,
 * fed live by the log's tail (`WS jobs/{id}/logs/tail`) and extended
 * backwards by byte pages that end at a given offset and start at a line
 * start.
 *
 * The tail follows where it stands (`phase`) until the job's final status or
 * an error. It counts byte offsets as the server does (UTF-8), so a dropped
 * socket resumes with `?offset=<last next_offset>` and a message that
 * overlaps what was already received is cut, never kept twice. When the
 * server refuses the socket, the model asks whether the job still exists: a
 * job that is gone ends the tail with an error, anything else is retried
 * with the socket's backoff.
 *
 * The window keeps at most `maxLines` lines. While it is *attached* (the
 * usual case) new text is appended and the oldest lines are dropped.
 * "Load earlier" fetches the byte page before the oldest line; when the
 * window is full, the newest lines make room and the window *detaches*:
 * the tail still runs (for the final status) but its text is not kept.
 * `jumpToEnd()` rebuilds the window from the last page and resumes the
 * tail from there, so nothing is lost or doubled either way.
 */
export class JobLogModel extends Disposable {
  /** Create a model; call `start()` to open the tail. */
  constructor(options: JobLogModel.IOptions) {
    super();
    this.submissionId = options.submissionId;
    this._service = options.service;
    this._jobs = options.jobs ?? null;
    this._pageBytes = Math.max(4, options.pageBytes ?? 128 * 1024);
    this.window = new LogWindow({ maxLines: options.maxLines });
  }

  /** The job this log belongs to. */
  readonly submissionId: string;

  /** The window of kept lines. */
  readonly window: LogWindow;

  /** A signal emitted after the lines, the phase or the status changed. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /**
   * The byte offset up to which the log was received; a reconnect resumes
   * here.
   */
  get nextOffset(): number {
    return this._nextOffset;
  }

  /**
   * `connecting`, `following`, `reconnecting`, `ended` (the job's final
   * status arrived) or `error` (the job is gone or cannot be read).
   */
  get phase(): JobLogModel.Phase {
    return this._phase;
  }

  /** The job's final status word once ended (`SUCCEEDED`, `FAILED`, ...). */
  get status(): string | null {
    return this._status;
  }

  /** The job's exit code once ended, if known. */
  get exitCode(): number | null {
    return this._exitCode;
  }

  /**
   * The server's message with the final status or the error, or what is
   * wrong with the connection; null otherwise.
   */
  get message(): string | null {
    return this._message;
  }

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

  /** Open the socket, unless it is open or the tail ended. */
  start(): void {
    if (this._socket || this.isDisposed || this._phase === 'ended') {
      return;
    }
    const socket = this._service.tail(this.submissionId, () => {
      this._attemptOpened = false;
      return this._nextOffset;
    });
    this._socket = socket;
    socket.messageReceived.connect(this._onMessage, this);
    socket.stateChanged.connect(this._onState, this);
  }

  /**
   * Go on from another byte offset: reopen the socket there at once when
   * it is open, or again after the job ended. It does not emit `changed`.
   */
  private _resumeFrom(offset: number): void {
    this._nextOffset = offset;
    if (this._socket) {
      this._socket.reconnect();
    } else if (this._phase === 'ended') {
      this._phase = 'connecting';
      this.start();
    }
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
    this._changed.emit();
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
    const end = this._nextOffset;
    const lines = await this._withBusy(() => this._linesBefore(end));
    if (this.isDisposed || !this._detached) {
      return;
    }
    this.window.reset(lines.offset);
    this.window.append(lines.text);
    this._detached = false;
    if (this._nextOffset !== lines.nextOffset) {
      // The tail ran on while the page was fetched: resume at the page's end.
      this._resumeFrom(lines.nextOffset);
    }
    if (this._phase === 'ended') {
      this.window.finish();
    }
    this._changed.emit();
  }

  /** Close the tail. */
  protected onDispose(): void {
    this._closeSocket();
  }

  private async _withBusy<T>(task: () => Promise<T>): Promise<T> {
    this._busy = true;
    this._changed.emit();
    try {
      return await task();
    } finally {
      this._busy = false;
      if (!this.isDisposed) {
        this._changed.emit();
      }
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
    let page = await this._service.getLogPage(id, start, end - start);
    const size = page.next_offset - page.offset;
    if (page.next_offset < end && size > 0) {
      // The server sent less than asked: ask again for a page it serves
      // whole, ending exactly at `end`, and ask for no more from now on.
      this._pageBytes = Math.max(1, size - 1);
      const retry = Math.max(0, end - size);
      page = await this._service.getLogPage(id, retry, end - retry);
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
    return {
      text,
      offset: nextOffset - LogWindow.utf8Length(text),
      nextOffset
    };
  }

  /**
   * Take log text that covers the bytes `[offset, nextOffset)` and pass on
   * what is new: bytes already received are cut off; a gap (a later
   * offset) is accepted as it is.
   */
  private _receive(offset: number, nextOffset: number, text: string): void {
    if (nextOffset <= this._nextOffset) {
      return;
    }
    if (offset < this._nextOffset) {
      const bytes = new TextEncoder().encode(text);
      text = new TextDecoder().decode(bytes.slice(this._nextOffset - offset));
    }
    this._nextOffset = nextOffset;
    if (!this._detached) {
      this.window.append(text);
      this._changed.emit();
    }
  }

  private _onMessage(_: IogSocket, data: unknown): void {
    if (!data || typeof data !== 'object') {
      return;
    }
    const message = data as LogTailMessage;
    if (message.type === 'log') {
      if (
        typeof message.offset === 'number' &&
        typeof message.next_offset === 'number' &&
        typeof message.text === 'string'
      ) {
        this._receive(message.offset, message.next_offset, message.text);
      }
    } else if (message.type === 'status') {
      this._status = String(message.status);
      this._exitCode =
        typeof message.exit_code === 'number' ? message.exit_code : null;
      this._message = message.message ? String(message.message) : null;
      this._end('ended');
    } else if (message.type === 'error') {
      this._message = String(message.message ?? 'The log is unavailable.');
      this._end('error');
    }
  }

  private _onState(socket: IogSocket, state: IogSocket.State): void {
    // The socket is closed (and says `disposed`) once the tail has ended.
    if (state === 'open') {
      this._attemptOpened = true;
      this._setPhase('following', null);
    } else if (state === 'closed') {
      const opened = this._attemptOpened;
      this._setPhase(
        'reconnecting',
        opened
          ? 'The log connection dropped; resuming where it stopped.'
          : 'The server refused the log stream; retrying.'
      );
      if (!opened) {
        void this._diagnose();
      }
    } else if (state === 'connecting' && this._phase !== 'reconnecting') {
      this._setPhase('connecting', null);
    }
  }

  /**
   * The server refused the tail: find out whether the job still exists.
   * A job that is gone ends the tail with the server's message; otherwise
   * the socket keeps retrying with backoff (e.g. too many open tails).
   */
  private async _diagnose(): Promise<void> {
    if (!this._jobs || this._diagnosing) {
      return;
    }
    this._diagnosing = true;
    try {
      await this._jobs.getJob(this.submissionId);
    } catch (error) {
      if (
        error instanceof IogResponseError &&
        error.status === 404 &&
        !this.isDisposed &&
        this._phase !== 'ended'
      ) {
        this._message = error.message;
        this._end('error');
      }
    } finally {
      this._diagnosing = false;
    }
  }

  private _end(phase: 'ended' | 'error'): void {
    this._phase = phase;
    this._closeSocket();
    if (!this._detached) {
      this.window.finish();
    }
    this._changed.emit();
  }

  private _setPhase(phase: JobLogModel.Phase, message: string | null): void {
    if (phase !== this._phase) {
      this._phase = phase;
      this._message = message;
      this._changed.emit();
    }
  }

  private _closeSocket(): void {
    // Disposing it clears its signals; its `disposed` state changes nothing.
    this._socket?.dispose();
    this._socket = null;
  }

  private _service: LogsService;
  private _jobs: JobLogModel.IOptions['jobs'] | null;
  private _pageBytes: number;
  private _detached = false;
  private _busy = false;
  private _nextOffset = 0;
  private _socket: IogSocket | null = null;
  private _attemptOpened = false;
  private _diagnosing = false;
  private _phase: JobLogModel.Phase = 'connecting';
  private _status: string | null = null;
  private _exitCode: number | null = null;
  private _message: string | null = null;
  private _changed = new Signal<this, void>(this);
}

/** A namespace for `JobLogModel` statics. */
export namespace JobLogModel {
  /** Every phase of the tail, in the order it goes through them. */
  export const PHASES = [
    'connecting',
    'following',
    'reconnecting',
    'ended',
    'error'
  ] as const;

  /** Where the tail stands. */
  export type Phase = (typeof PHASES)[number];

  /** Options to create a `JobLogModel`. */
  export interface IOptions {
    /** The job. */
    submissionId: string;
    /** The service that opens the tail and fetches the pages. */
    service: LogsService;
    /**
     * Looks the job up when the server refuses the socket, to tell a
     * deleted job (a 404) from a busy server; without it a refused socket
     * is retried forever.
     */
    jobs?: Pick<JobsService, 'getJob'>;
    /** How many lines to keep, the partial last line included. */
    maxLines: number;
    /**
     * Bytes per page for "Load earlier" and "Jump to end" (default 128 KiB;
     * the server refuses more than `IogJupyterApp.log_page_max_bytes`).
     */
    pageBytes?: number;
  }
}

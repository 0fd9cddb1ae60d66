import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';

import { defaultStyle, IAnsiSegment, IAnsiStyle, parseAnsiLine } from '../ansi';
import type { LogTailMessage, LogsService } from '../api/LogsService';
import type { IogSocket } from '../api/socket';

/**
 * A job's log as the log panel shows it: a bounded window of parsed lines,
 * fed live by the tail websocket and extended backwards page by page.
 *
 * The model keeps byte offsets as the server counts them (UTF-8), so a
 * dropped socket resumes with `?offset=<next offset>` and a message that
 * overlaps what was already received is cut, never shown twice. At most
 * `maxLines` lines are kept (plus what "Load earlier" brought back);
 * older lines are dropped from the front.
 */
export class JobLogModel implements IDisposable {
  /**
   * Create a model; call `start()` to open the tail.
   *
   * @param options The model options.
   */
  constructor(options: JobLogModel.IOptions) {
    this.submissionId = options.submissionId;
    this._service = options.service;
    this._maxLines = Math.max(1, options.maxLines);
    this._pageBytes = options.pageBytes ?? 256 * 1024;
  }

  /**
   * The job this log belongs to.
   */
  readonly submissionId: string;

  /**
   * A signal emitted after the lines, the partial line or the phase changed.
   */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /**
   * The kept complete lines, oldest first.
   */
  get lines(): readonly JobLogModel.ILine[] {
    return this._lines;
  }

  /**
   * The sequence number of `lines[0]`; each line's number is its index plus
   * this. Numbers never repeat, so a view can key its nodes by them.
   */
  get firstSeq(): number {
    return this._firstSeq;
  }

  /**
   * The last line while it has no newline yet (segments), or null.
   */
  get partial(): IAnsiSegment[] | null {
    if (!this._partial) {
      return null;
    }
    return parseAnsiLine(this._partial, this._style).segments;
  }

  /**
   * The byte offset of `lines[0]` in the log.
   */
  get firstOffset(): number {
    return this._firstOffset;
  }

  /**
   * The byte offset up to which the log was received.
   */
  get nextOffset(): number {
    return this._nextOffset;
  }

  /**
   * Whether the log has bytes before the first kept line.
   */
  get hasEarlier(): boolean {
    return this._firstOffset > 0;
  }

  /**
   * `connecting`, `following`, `reconnecting`, `ended` (the job's final
   * status arrived) or `error` (the server refused the tail or the job went
   * away).
   */
  get phase(): JobLogModel.Phase {
    return this._phase;
  }

  /**
   * The job's final status word once ended (`SUCCEEDED`, `FAILED`, ...).
   */
  get status(): string | null {
    return this._status;
  }

  /**
   * The job's exit code once ended, if known.
   */
  get exitCode(): number | null {
    return this._exitCode;
  }

  /**
   * The server's message with the final status or the error, if any.
   */
  get message(): string | null {
    return this._message;
  }

  /**
   * How many lines were dropped from the front to keep the bound.
   */
  get droppedLines(): number {
    return this._dropped;
  }

  /**
   * Whether the model is disposed.
   */
  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /**
   * Open the live tail from the next offset (0 at first).
   */
  start(): void {
    if (this._socket || this._isDisposed || this._phase === 'ended') {
      return;
    }
    const socket = this._service.tail(
      this.submissionId,
      () => this._nextOffset
    );
    this._socket = socket;
    socket.messageReceived.connect(this._onMessage, this);
    socket.stateChanged.connect(this._onState, this);
  }

  /**
   * Append log text that covers the bytes `[offset, nextOffset)`.
   *
   * Text the model already has is cut off; a gap (a later offset) is
   * accepted as it is.
   *
   * @param offset The byte offset the text starts at.
   * @param nextOffset The byte offset just after it.
   * @param text The text.
   */
  receive(offset: number, nextOffset: number, text: string): void {
    if (nextOffset <= this._nextOffset) {
      return;
    }
    if (offset < this._nextOffset) {
      const bytes = Private.encoder.encode(text);
      text = Private.decoder.decode(bytes.slice(this._nextOffset - offset));
    }
    this._nextOffset = nextOffset;
    this._appendText(text);
    this._changed.emit();
  }

  /**
   * Fetch the page of the log before the first kept line and put its
   * lines in front.
   *
   * @returns How many lines were added.
   */
  async loadEarlier(): Promise<number> {
    const end = this._firstOffset;
    if (end <= 0 || this._isDisposed) {
      return 0;
    }
    const start = Math.max(0, end - this._pageBytes);
    const page = await this._service.getLogPage(
      this.submissionId,
      start,
      end - start
    );
    if (this._isDisposed || this._firstOffset !== end) {
      return 0;
    }
    let text = page.text;
    let from = page.offset;
    if (from > 0) {
      // The page may start inside a line: keep only whole lines.
      const cut = text.indexOf('\n');
      if (cut < 0) {
        return 0;
      }
      from += Private.utf8Length(text.slice(0, cut + 1));
      text = text.slice(cut + 1);
    }
    if (text.endsWith('\n')) {
      text = text.slice(0, -1);
    }
    const raw = text.length ? text.split('\n') : [];
    let style = defaultStyle();
    const earlier: JobLogModel.ILine[] = raw.map(line => {
      const parsed = parseAnsiLine(line, style);
      style = parsed.style;
      return {
        segments: parsed.segments,
        bytes: Private.utf8Length(line) + 1
      };
    });
    this._lines.unshift(...earlier);
    this._firstSeq -= earlier.length;
    this._firstOffset = from;
    this._extra += earlier.length;
    this._changed.emit();
    return earlier.length;
  }

  /**
   * Close the tail.
   */
  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._closeSocket();
    Signal.clearData(this);
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
        this.receive(message.offset, message.next_offset, message.text);
      }
    } else if (message.type === 'status') {
      this._finishPartial();
      this._status = String(message.status);
      this._exitCode =
        typeof message.exit_code === 'number' ? message.exit_code : null;
      this._message = message.message ? String(message.message) : null;
      this._phase = 'ended';
      this._closeSocket();
      this._changed.emit();
    } else if (message.type === 'error') {
      this._finishPartial();
      this._message = String(message.message ?? 'The log is unavailable.');
      this._phase = 'error';
      this._closeSocket();
      this._changed.emit();
    }
  }

  private _onState(socket: IogSocket, state: IogSocket.State): void {
    if (this._phase === 'ended' || this._phase === 'error') {
      return;
    }
    const next: JobLogModel.Phase =
      state === 'open'
        ? 'following'
        : state === 'closed'
          ? 'reconnecting'
          : this._phase === 'reconnecting'
            ? 'reconnecting'
            : 'connecting';
    if (next !== this._phase) {
      this._phase = next;
      if (next === 'reconnecting' && socket.attempts > 1) {
        this._message =
          'The log connection dropped; resuming where it stopped.';
      } else if (next === 'following') {
        this._message = null;
      }
      this._changed.emit();
    }
  }

  private _appendText(text: string): void {
    const pieces = (this._partial + text).split('\n');
    this._partial = pieces.pop() ?? '';
    for (const line of pieces) {
      const parsed = parseAnsiLine(line, this._style);
      this._style = parsed.style;
      this._lines.push({
        segments: parsed.segments,
        bytes: Private.utf8Length(line) + 1
      });
    }
    this._trim();
  }

  private _finishPartial(): void {
    if (this._partial) {
      const parsed = parseAnsiLine(this._partial, this._style);
      this._style = parsed.style;
      this._lines.push({
        segments: parsed.segments,
        bytes: Private.utf8Length(this._partial)
      });
      this._partial = '';
      this._trim();
    }
  }

  private _trim(): void {
    const excess = this._lines.length - (this._maxLines + this._extra);
    if (excess <= 0) {
      return;
    }
    let bytes = 0;
    for (let i = 0; i < excess; i++) {
      bytes += this._lines[i].bytes;
    }
    this._lines.splice(0, excess);
    this._firstSeq += excess;
    this._firstOffset += bytes;
    this._dropped += excess;
    // Lines brought back by "Load earlier" go first.
    this._extra = Math.max(0, this._extra - excess);
  }

  private _closeSocket(): void {
    const socket = this._socket;
    this._socket = null;
    if (socket) {
      socket.messageReceived.disconnect(this._onMessage, this);
      socket.stateChanged.disconnect(this._onState, this);
      socket.dispose();
    }
  }

  private _service: LogsService;
  private _maxLines: number;
  private _pageBytes: number;
  private _socket: IogSocket | null = null;
  private _lines: JobLogModel.ILine[] = [];
  private _firstSeq = 0;
  private _firstOffset = 0;
  private _nextOffset = 0;
  private _partial = '';
  private _style: IAnsiStyle = defaultStyle();
  private _extra = 0;
  private _dropped = 0;
  private _phase: JobLogModel.Phase = 'connecting';
  private _status: string | null = null;
  private _exitCode: number | null = null;
  private _message: string | null = null;
  private _isDisposed = false;
  private _changed = new Signal<this, void>(this);
}

/**
 * A namespace for `JobLogModel` statics.
 */
export namespace JobLogModel {
  /**
   * Where the tail stands.
   */
  export type Phase =
    'connecting' | 'following' | 'reconnecting' | 'ended' | 'error';

  /**
   * One parsed line.
   */
  export interface ILine {
    /**
     * The line's styled text segments.
     */
    segments: IAnsiSegment[];
    /**
     * The line's size in the log, its newline included, in bytes.
     */
    bytes: number;
  }

  /**
   * Options to create a `JobLogModel`.
   */
  export interface IOptions {
    /**
     * The job.
     */
    submissionId: string;
    /**
     * The service that opens the tail and fetches pages.
     */
    service: LogsService;
    /**
     * How many lines to keep.
     */
    maxLines: number;
    /**
     * Bytes per "Load earlier" page (default 256 KiB).
     */
    pageBytes?: number;
  }
}

/**
 * Module-private helpers.
 */
namespace Private {
  /**
   * A shared UTF-8 encoder.
   */
  export const encoder = new TextEncoder();

  /**
   * A shared UTF-8 decoder.
   */
  export const decoder = new TextDecoder();

  /**
   * The UTF-8 size of a string, without encoding it.
   *
   * @param text The string.
   * @returns Its size in bytes.
   */
  export function utf8Length(text: string): number {
    let bytes = 0;
    for (let i = 0; i < text.length; i++) {
      const code = text.charCodeAt(i);
      if (code < 0x80) {
        bytes += 1;
      } else if (code < 0x800) {
        bytes += 2;
      } else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
        bytes += 4;
        i += 1;
      } else {
        bytes += 3;
      }
    }
    return bytes;
  }
}

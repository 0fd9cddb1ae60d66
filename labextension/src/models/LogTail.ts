import { ISignal, Signal } from '@lumino/signaling';

import { IogResponseError } from '../api/request';
import type { JobsService, LogsService } from '../api/services';
import type { IogSocket } from '../api/socket';
import type { LogTailMessage } from '../api/types';
import { Disposable } from './Disposable';

/**
 * Base of the job log model: the live tail of one job's log
 * (`WS jobs/{id}/logs/tail`). A subclass takes the log's new text in
 * `onText()` and the tail's end in `onEnd()`.
 *
 * The tail follows where it stands (`phase`) until the job's final status or
 * an error. It counts byte offsets as the server does (UTF-8), so a dropped
 * socket resumes with `?offset=<last next_offset>` and a message that
 * overlaps what was already received is cut, never passed on twice. When the
 * server refuses the socket, the tail asks whether the job still exists: a
 * job that is gone ends the tail with an error, anything else is retried
 * with the socket's backoff.
 */
export abstract class LogTail extends Disposable {
  /** Create a tail; call `start()` to open it. */
  constructor(options: LogTail.IOptions) {
    super();
    this.submissionId = options.submissionId;
    this.service = options.service;
    this._jobs = options.jobs ?? null;
  }

  /** The job this log belongs to. */
  readonly submissionId: string;

  /** A signal emitted after the phase, the status or the subclass changed. */
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
  get phase(): LogTail.Phase {
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

  /** Open the socket, unless it is open or the tail ended. */
  start(): void {
    if (this._socket || this.isDisposed || this._phase === 'ended') {
      return;
    }
    const socket = this.service.tail(this.submissionId, () => {
      this._attemptOpened = false;
      return this._nextOffset;
    });
    this._socket = socket;
    socket.messageReceived.connect(this._onMessage, this);
    socket.stateChanged.connect(this._onState, this);
  }

  /** The service that opens the socket (and fetches a subclass's pages). */
  protected readonly service: LogsService;

  /**
   * Go on from another byte offset: reopen the socket there at once when
   * it is open, or again after the job ended. It does not emit `changed`.
   */
  protected resumeFrom(offset: number): void {
    this._nextOffset = offset;
    if (this._socket) {
      this._socket.reconnect();
    } else if (this._phase === 'ended') {
      this._phase = 'connecting';
      this.start();
    }
  }

  /** Take the log's new text, which follows the text before it. */
  protected abstract onText(text: string): void;

  /** The tail ended (`ended` or `error`); `changed` is emitted next. */
  protected abstract onEnd(): void;

  /** Emit `changed` (for subclasses whose own state changed). */
  protected emitChanged(): void {
    this._changed.emit();
  }

  /** Close the tail. */
  protected onDispose(): void {
    this._closeSocket();
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
    this.onText(text);
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
    this.onEnd();
    this._changed.emit();
  }

  private _setPhase(phase: LogTail.Phase, message: string | null): void {
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

  private _jobs: LogTail.IOptions['jobs'] | null;
  private _nextOffset = 0;
  private _socket: IogSocket | null = null;
  private _attemptOpened = false;
  private _diagnosing = false;
  private _phase: LogTail.Phase = 'connecting';
  private _status: string | null = null;
  private _exitCode: number | null = null;
  private _message: string | null = null;
  private _changed = new Signal<this, void>(this);
}

/** A namespace for `LogTail` statics. */
export namespace LogTail {
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

  /** Options to create a tail. */
  export interface IOptions {
    /** The job. */
    submissionId: string;
    /** The service that opens the tail (and fetches the pages). */
    service: LogsService;
    /**
     * Looks the job up when the server refuses the socket, to tell a
     * deleted job (a 404) from a busy server; without it a refused socket
     * is retried forever.
     */
    jobs?: Pick<JobsService, 'getJob'>;
  }
}

import { ServerConnection } from '@jupyterlab/services';

import { encodePathSegment, queryString } from './path';
import { requestAPI } from './request';
import { IogSocket } from './socket';

/**
 * One byte page of a job's log (`GET jobs/{id}/logs`).
 */
export interface ILogPage {
  /**
   * The page's text.
   */
  text: string;
  /**
   * The byte offset the page starts at.
   */
  offset: number;
  /**
   * The byte offset just after the page.
   */
  next_offset: number;
  /**
   * Whether the page reaches the end of the log as it is now.
   */
  eof: boolean;
}

/**
 * A message of the log tail websocket (`WS jobs/{id}/logs/tail`).
 */
export type LogTailMessage =
  | { type: 'log'; offset: number; next_offset: number; text: string }
  | {
      type: 'status';
      status: string;
      exit_code?: number | null;
      message?: string | null;
    }
  | { type: 'error'; message: string };

/**
 * Client of a job's log endpoints: byte pages over REST and the live tail.
 */
export class LogsService {
  /**
   * Create a new logs service.
   *
   * @param options The service options.
   */
  constructor(options: LogsService.IOptions = {}) {
    this.serverSettings =
      options.serverSettings ?? ServerConnection.makeSettings();
  }

  /**
   * The server settings used for every request and socket.
   */
  readonly serverSettings: ServerConnection.ISettings;

  /**
   * Fetch a byte page of a job's log (`GET jobs/{id}/logs`).
   *
   * @param submissionId The job.
   * @param offset The first byte.
   * @param limitBytes At most this many bytes.
   * @returns The page.
   */
  getLogPage(
    submissionId: string,
    offset: number,
    limitBytes: number
  ): Promise<ILogPage> {
    const search = queryString({ offset, limit_bytes: limitBytes });
    return requestAPI<ILogPage>(
      `jobs/${encodePathSegment(submissionId)}/logs${search}`,
      {},
      this.serverSettings
    );
  }

  /**
   * Open the live tail of a job's log (`WS jobs/{id}/logs/tail?offset=`).
   *
   * @param submissionId The job.
   * @param offset Called before every (re)connect for the byte offset to
   *   resume from.
   * @returns The socket; its messages are `LogTailMessage`s.
   */
  tail(submissionId: string, offset: () => number): IogSocket {
    return new IogSocket({
      path: `jobs/${encodePathSegment(submissionId)}/logs/tail`,
      params: () => ({ offset: String(offset()) }),
      serverSettings: this.serverSettings,
      maxDelayMs: 10000
    });
  }
}

/**
 * A namespace for `LogsService` statics.
 */
export namespace LogsService {
  /**
   * Options to create a `LogsService`.
   */
  export interface IOptions {
    /**
     * Server settings; defaults to `ServerConnection.makeSettings()`.
     */
    serverSettings?: ServerConnection.ISettings;
  }
}

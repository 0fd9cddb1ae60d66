import { ServerConnection } from '@jupyterlab/services';

import { encodePathSegment, queryString } from './path';
import { requestAPI } from './request';
import { IogSocket } from './socket';
import type { LogPage } from './types';

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
  ): Promise<LogPage> {
    const search = queryString({ offset, limit_bytes: limitBytes });
    return requestAPI<LogPage>(
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

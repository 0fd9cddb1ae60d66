import { ServerConnection } from '@jupyterlab/services';

import { encodePathSegment } from './path';
import { requestAPI } from './request';
import type { ReleaseReply, SessionList } from './types';

/**
 * Client of the server extension's sessions endpoints, one method per
 * endpoint. Errors reject as in `JobsService`.
 */
export class SessionsService {
  /**
   * Create a new sessions service.
   *
   * @param options The service options.
   */
  constructor(options: SessionsService.IOptions = {}) {
    this.serverSettings =
      options.serverSettings ?? ServerConnection.makeSettings();
  }

  /**
   * The server settings used for every request.
   */
  readonly serverSettings: ServerConnection.ISettings;

  /**
   * Fetch the notebook sessions that are Ray drivers (`GET sessions`).
   *
   * @returns The sessions and the idle policy.
   */
  listSessions(): Promise<SessionList> {
    return requestAPI<SessionList>('sessions', {}, this.serverSettings);
  }

  /**
   * Release what a session holds: its non-detached actors and running tasks
   * (`POST sessions/{session_id}/release`).
   *
   * @param sessionId The session's Ray job id or kernel id.
   * @returns What was released.
   */
  releaseSession(sessionId: string): Promise<ReleaseReply> {
    return requestAPI<ReleaseReply>(
      `sessions/${encodePathSegment(sessionId)}/release`,
      { method: 'POST' },
      this.serverSettings
    );
  }
}

/**
 * A namespace for `SessionsService` statics.
 */
export namespace SessionsService {
  /**
   * Options to create a `SessionsService`.
   */
  export interface IOptions {
    /**
     * Server settings; defaults to `ServerConnection.makeSettings()`.
     */
    serverSettings?: ServerConnection.ISettings;
  }
}

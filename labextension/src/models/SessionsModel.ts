import { SessionsService } from '../api/services';
import type {
  ReleaseReply,
  SessionList,
  SessionPolicy,
  SessionRecord
} from '../api/types';
import type { ChangeFeed } from './ChangeFeed';
import { PolledModel } from './PolledModel';

/**
 * The sessions list of the sidebar: the Ray drivers joined with this
 * server's kernels, with what each holds and the idle policy's view.
 *
 * It polls `GET sessions` and refreshes at once on a `sessions` push.
 */
export class SessionsModel extends PolledModel<SessionList> {
  /**
   * Create the model and start polling.
   *
   * @param options The model options.
   */
  constructor(options: SessionsModel.IOptions) {
    super({ ...options, topic: 'sessions' });
    this.service = options.service;
  }

  /**
   * The service the model fetches through.
   */
  readonly service: SessionsService;

  /**
   * The live sessions.
   */
  get sessions(): ReadonlyArray<SessionRecord> {
    return this._list?.sessions ?? [];
  }

  /**
   * The idle policy's configuration; null before the first fetch.
   */
  get policy(): SessionPolicy | null {
    return this._list?.policy ?? null;
  }

  /**
   * Whether the sessions were fetched at least once.
   */
  get loaded(): boolean {
    return this._list !== null;
  }

  /**
   * Release what a session holds, then refresh the list.
   *
   * @param sessionId The session's id.
   * @returns What was released.
   * @throws {IogResponseError} When the server refuses.
   */
  async release(sessionId: string): Promise<ReleaseReply> {
    const reply = await this.service.releaseSession(sessionId);
    void this.refresh();
    return reply;
  }

  /**
   * Fetch the sessions.
   *
   * @returns The sessions and the policy.
   */
  protected fetch(): Promise<SessionList> {
    return this.service.listSessions();
  }

  /**
   * Store the fetched sessions.
   *
   * @param data The sessions and the policy.
   */
  protected apply(data: SessionList): void {
    this._list = data;
  }

  private _list: SessionList | null = null;
}

/**
 * A namespace for `SessionsModel` statics.
 */
export namespace SessionsModel {
  /**
   * Options to create a `SessionsModel`.
   */
  export interface IOptions {
    /**
     * The service to fetch through.
     */
    service: SessionsService;
    /**
     * The push channel; without one the model only polls.
     */
    feed?: ChangeFeed | null;
    /**
     * Polling interval in milliseconds.
     */
    refreshIntervalMs?: number;
    /**
     * Whether to start polling at once (default true).
     */
    autoStart?: boolean;
  }

  /**
   * Whether the idle policy flags a session (warned, or due for release).
   *
   * @param session The session.
   * @returns True when the sidebar should warn about it.
   */
  export function isIdleFlagged(session: SessionRecord): boolean {
    const state = session.policy?.state;
    return state === 'warned' || state === 'due';
  }
}

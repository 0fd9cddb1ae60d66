import type { SessionsService } from '../api/services';
import type {
  ReleaseReply,
  SessionList,
  SessionPolicy,
  SessionRecord
} from '../api/types';
import { PolledModel } from './PolledModel';

/**
 * The sessions list of the sidebar: the Ray drivers joined with this
 * server's kernels, with what each holds and the idle policy's view.
 *
 * It polls `GET sessions` and refreshes at once on a `sessions` push.
 */
export class SessionsModel extends PolledModel<SessionList, SessionsService> {
  /** Create the model and start polling. */
  constructor(options: SessionsModel.IOptions) {
    super({ ...options, topic: 'sessions' });
  }

  /** The live sessions. */
  get sessions(): ReadonlyArray<SessionRecord> {
    return this.data?.sessions ?? [];
  }

  /** The idle policy's configuration; null before the first fetch. */
  get policy(): SessionPolicy | null {
    return this.data?.policy ?? null;
  }

  /** Release what a session holds, then refresh the list. */
  release(sessionId: string): Promise<ReleaseReply> {
    return this.thenRefresh(this.service.releaseSession(sessionId));
  }

  /** Fetch the sessions and the policy. */
  protected fetch(): Promise<SessionList> {
    return this.service.listSessions();
  }
}

/** A namespace for `SessionsModel` statics. */
export namespace SessionsModel {
  /** Options to create a `SessionsModel`. */
  export type IOptions = Omit<PolledModel.IOptions<SessionsService>, 'topic'>;

  /** Whether the idle policy flags a session (warned, or due for release). */
  export function isIdleFlagged(session: SessionRecord): boolean {
    const state = session.policy?.state;
    return state === 'warned' || state === 'due';
  }
}

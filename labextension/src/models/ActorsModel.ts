import type { ActorsService } from '../api/services';
import type {
  ActorKillReply,
  ActorPage,
  ActorRecord,
  ActorState
} from '../api/types';
import { PagedModel } from './PagedModel';

/**
 * The actors list of the sidebar: one page of detached actors (dead ones
 * left out), by namespace then name.
 *
 * It polls `GET actors` and refreshes at once on an `actors` push.
 */
export class ActorsModel extends PagedModel<ActorPage, ActorsService> {
  /** Create the model and start polling. */
  constructor(options: ActorsModel.IOptions) {
    super({ ...options, topic: 'actors' });
  }

  /** The actors of the current page. */
  get actors(): ReadonlyArray<ActorRecord> {
    return this.data?.actors ?? [];
  }

  /** The current page as the server sent it; null before the first fetch. */
  get page(): ActorPage | null {
    return this.data;
  }

  /** The namespace filter; null shows every namespace the server lists. */
  get namespace(): string | null {
    return this._namespace;
  }

  /** Show only this namespace (null: all), from the first page. */
  setNamespace(namespace: string | null): Promise<void> {
    const value = namespace?.trim() || null;
    if (value === this._namespace) {
      return Promise.resolve();
    }
    this._namespace = value;
    return this.restart();
  }

  /**
   * Kill a named actor, then refresh the list.
   *
   * @throws {IogResponseError} When the server refuses (403 protected).
   */
  kill(namespace: string, name: string): Promise<ActorKillReply> {
    return this.thenRefresh(this.service.killActor(namespace, name));
  }

  /** Fetch the current page. */
  protected fetch(): Promise<ActorPage> {
    return this.service.listActors({
      detached: true,
      namespace: this._namespace ?? undefined,
      state: [...ActorsModel.LIVE_STATES],
      limit: this.pageSize,
      cursor: this.cursor
    });
  }

  private _namespace: string | null = null;
}

/** A namespace for `ActorsModel` statics. */
export namespace ActorsModel {
  /** The states listed: every state but `DEAD`. */
  export const LIVE_STATES: ReadonlyArray<ActorState> = [
    'DEPENDENCIES_UNREADY',
    'PENDING_CREATION',
    'ALIVE',
    'RESTARTING'
  ];

  /** Options to create an `ActorsModel`. */
  export type IOptions = PagedModel.IOptions<ActorsService>;
}

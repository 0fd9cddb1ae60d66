import { ActorsService } from '../api/services';
import type {
  ActorState,
  ActorKillReply,
  ActorPage,
  ActorRecord
} from '../api/types';
import type { ChangeFeed } from './ChangeFeed';
import { CursorPager } from './CursorPager';
import { PolledModel } from './PolledModel';

/**
 * The actors list of the sidebar: one page of named actors (detached ones
 * by default, dead ones left out), by namespace then name.
 *
 * It polls `GET actors` and refreshes at once on an `actors` push.
 */
export class ActorsModel extends PolledModel<ActorPage> {
  /**
   * Create the model and start polling.
   *
   * @param options The model options.
   */
  constructor(options: ActorsModel.IOptions) {
    super({ ...options, topic: 'actors' });
    this.service = options.service;
    this.pageSize = options.pageSize ?? ActorsModel.DEFAULT_PAGE_SIZE;
    this._detached = 'detached' in options ? options.detached : true;
    this._states = options.states ?? ActorsModel.LIVE_STATES;
  }

  /**
   * The service the model fetches through.
   */
  readonly service: ActorsService;

  /**
   * How many actors one page holds.
   */
  readonly pageSize: number;

  /**
   * The actors of the current page.
   */
  get actors(): ReadonlyArray<ActorRecord> {
    return this._page?.actors ?? [];
  }

  /**
   * The current page as the server sent it; null before the first fetch.
   */
  get page(): ActorPage | null {
    return this._page;
  }

  /**
   * The namespace filter; null shows every namespace the server lists.
   */
  get namespace(): string | null {
    return this._namespace;
  }

  /**
   * Whether a newer page exists.
   */
  get hasNewer(): boolean {
    return this._pager.hasNewer;
  }

  /**
   * Whether an older page exists.
   */
  get hasOlder(): boolean {
    return !!this._page?.next_cursor;
  }

  /**
   * The 0-based index of the current page.
   */
  get pageIndex(): number {
    return this._pager.index;
  }

  /**
   * Show only this namespace (null: all), from the first page.
   *
   * @param namespace The namespace.
   * @returns A promise resolved once the page is fetched.
   */
  setNamespace(namespace: string | null): Promise<void> {
    const value = namespace?.trim() || null;
    if (value === this._namespace) {
      return Promise.resolve();
    }
    this._namespace = value;
    this._pager.reset();
    this.emitChanged();
    return this.refresh();
  }

  /**
   * Show the next page, if any.
   *
   * @returns A promise resolved once the page is fetched.
   */
  older(): Promise<void> {
    if (!this._pager.older(this._page?.next_cursor ?? null)) {
      return Promise.resolve();
    }
    return this.refresh();
  }

  /**
   * Show the previous page, if any.
   *
   * @returns A promise resolved once the page is fetched.
   */
  newer(): Promise<void> {
    if (!this._pager.newer()) {
      return Promise.resolve();
    }
    return this.refresh();
  }

  /**
   * Kill a named actor, then refresh the list.
   *
   * @param namespace The actor's namespace.
   * @param name The actor's name.
   * @returns Whether it was killed.
   * @throws {IogResponseError} When the server refuses (403 protected).
   */
  async kill(namespace: string, name: string): Promise<ActorKillReply> {
    const reply = await this.service.killActor(namespace, name);
    void this.refresh();
    return reply;
  }

  /**
   * Fetch the current page.
   *
   * @returns The page.
   */
  protected fetch(): Promise<ActorPage> {
    return this.service.listActors({
      detached: this._detached,
      namespace: this._namespace ?? undefined,
      state: [...this._states],
      limit: this.pageSize,
      cursor: this._pager.cursor
    });
  }

  /**
   * Store the fetched page.
   *
   * @param data The page.
   */
  protected apply(data: ActorPage): void {
    this._page = data;
  }

  private _page: ActorPage | null = null;
  private _namespace: string | null = null;
  private _detached: boolean | undefined;
  private _states: ReadonlyArray<ActorState>;
  private _pager = new CursorPager();
}

/**
 * A namespace for `ActorsModel` statics.
 */
export namespace ActorsModel {
  /**
   * Actors per page by default.
   */
  export const DEFAULT_PAGE_SIZE = 50;

  /**
   * The states listed by default: every state but `DEAD`.
   */
  export const LIVE_STATES: ReadonlyArray<ActorState> = [
    'DEPENDENCIES_UNREADY',
    'PENDING_CREATION',
    'ALIVE',
    'RESTARTING'
  ];

  /**
   * Options to create an `ActorsModel`.
   */
  export interface IOptions {
    /**
     * The service to fetch through.
     */
    service: ActorsService;
    /**
     * The push channel; without one the model only polls.
     */
    feed?: ChangeFeed | null;
    /**
     * Polling interval in milliseconds.
     */
    refreshIntervalMs?: number;
    /**
     * Actors per page (default 50).
     */
    pageSize?: number;
    /**
     * true (default): detached actors only; false: non-detached named
     * actors only; undefined: both.
     */
    detached?: boolean;
    /**
     * The states to list (default every state but `DEAD`).
     */
    states?: ReadonlyArray<ActorState>;
    /**
     * Whether to start polling at once (default true).
     */
    autoStart?: boolean;
  }
}

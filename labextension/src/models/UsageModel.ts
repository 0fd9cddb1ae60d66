import type { UsageService } from '../api/services';
import type { UsageReport, UsageRow } from '../api/types';
import { PolledModel } from './PolledModel';

/**
 * The usage view of the sidebar: what each user, session or job held in a
 * window (`GET usage`), polled every 30 s while `active` (the section is
 * expanded) and the page is visible. Changing the window or the grouping
 * fetches at once.
 */
export class UsageModel extends PolledModel<UsageModel.IFetched, UsageService> {
  /** Create the model; it polls once `active` is set. */
  constructor(options: UsageModel.IOptions) {
    super({
      refreshIntervalMs: UsageModel.REFRESH_INTERVAL_MS,
      ...options,
      name: 'usage',
      autoStart: false
    });
  }

  /** The window: the last hour, day or week. */
  get window(): UsageModel.Window {
    return this._window;
  }
  set window(value: UsageModel.Window) {
    this._choose(value, this._groupBy);
  }

  /** One row per user, session or job. */
  get groupBy(): UsageModel.GroupBy {
    return this._groupBy;
  }
  set groupBy(value: UsageModel.GroupBy) {
    this._choose(this._window, value);
  }

  /**
   * Whether to poll (the view is shown). Turning it on fetches at once;
   * off stops polling.
   */
  get active(): boolean {
    return this._active;
  }
  set active(value: boolean) {
    if (value !== this._active && !this.isDisposed) {
      this._active = value;
      void (value ? this.poll.start() : this.poll.stop());
    }
  }

  /**
   * The last report, when it is for the current window and grouping; null
   * before it arrives.
   */
  get report(): UsageReport | null {
    const data = this.data;
    return data && data.key === this._key() ? data.report : null;
  }

  /** The rows of the current report, most GPU-seconds first. */
  get rows(): ReadonlyArray<UsageRow> {
    return this.report?.rows ?? [];
  }

  /** Fetch the report of the current window and grouping. */
  protected async fetch(): Promise<UsageModel.IFetched> {
    const key = this._key();
    const report = await this.service.get({
      since: this._window,
      group_by: this._groupBy
    });
    return { key, report };
  }

  /** Show a new choice at once (no stale rows), then fetch. */
  private _choose(
    window: UsageModel.Window,
    groupBy: UsageModel.GroupBy
  ): void {
    if (window !== this._window || groupBy !== this._groupBy) {
      this._window = window;
      this._groupBy = groupBy;
      this.emitChanged();
      if (this._active) {
        void this.refresh();
      }
    }
  }

  private _key(): string {
    return `${this._window} ${this._groupBy}`;
  }

  private _window: UsageModel.Window = '24h';
  private _groupBy: UsageModel.GroupBy = 'user';
  private _active = false;
}

/** A namespace for `UsageModel` statics. */
export namespace UsageModel {
  /** How often the view polls while shown, in milliseconds. */
  export const REFRESH_INTERVAL_MS = 30000;

  /** The windows offered, as `since` durations back from now. */
  export const WINDOWS = ['1h', '24h', '7d'] as const;

  /** A window. */
  export type Window = (typeof WINDOWS)[number];

  /** The groupings offered. */
  export const GROUPS = ['user', 'session', 'job'] as const;

  /** A grouping. */
  export type GroupBy = (typeof GROUPS)[number];

  /** A fetched report and the window and grouping it answers. */
  export interface IFetched {
    /** `<window> <group_by>`. */
    key: string;
    /** The report. */
    report: UsageReport;
  }

  /** Options to create a `UsageModel`. */
  export type IOptions = Omit<
    PolledModel.IOptions<UsageService>,
    'topic' | 'name' | 'autoStart' | 'feed'
  >;
}

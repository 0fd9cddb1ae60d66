import { IDisposable } from '@lumino/disposable';
import { IPoll, Poll } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';

import type { EventTopic } from '../api/types';
import {
  DEFAULT_REFRESH_INTERVAL_MS,
  MIN_REFRESH_INTERVAL_MS
} from '../tokens';
import type { ChangeFeed } from './ChangeFeed';
import { clampInterval, ConnectionState, describeError } from './connection';

/**
 * Base of the list models (jobs, sessions, actors): a `Poll` that fetches
 * the current page, refreshed at once when the `ChangeFeed` says the list
 * changed, and polling only slowly while those pushes can arrive.
 *
 * A failed fetch (network error, `503 ray_unavailable`, ...) turns the model
 * `disconnected` with the server's message and makes the poll back off; the
 * model keeps its last data and becomes `connected` again with the next
 * successful fetch.
 */
export abstract class PolledModel<T> implements IDisposable {
  /**
   * Create the model and start polling.
   *
   * @param options The model options.
   */
  constructor(options: PolledModel.IOptions) {
    this._topic = options.topic;
    this._intervalMs = clampInterval(
      options.refreshIntervalMs ?? DEFAULT_REFRESH_INTERVAL_MS,
      MIN_REFRESH_INTERVAL_MS
    );
    this._feed = options.feed ?? null;
    this._poll = new Poll({
      auto: options.autoStart ?? true,
      factory: () => this._tick(),
      frequency: this._frequency(),
      name: `iog-jupyter:${options.topic}`,
      standby: 'when-hidden'
    });
    if (this._feed) {
      this._feed.changed.connect(this._onFeedChanged, this);
      this._feed.openChanged.connect(this._onFeedOpen, this);
    }
  }

  /**
   * A signal emitted when the data or the connection state changed.
   */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /**
   * Whether the last fetch succeeded.
   */
  get state(): ConnectionState {
    return this._state;
  }

  /**
   * What went wrong with the last fetch, in words; null when it succeeded.
   */
  get message(): string | null {
    return this._message;
  }

  /**
   * The polling interval in milliseconds, used while no push socket is open
   * (six times longer while it is).
   */
  get refreshIntervalMs(): number {
    return this._intervalMs;
  }
  set refreshIntervalMs(value: number) {
    const interval = clampInterval(value, MIN_REFRESH_INTERVAL_MS);
    if (interval === this._intervalMs) {
      return;
    }
    this._intervalMs = interval;
    this._poll.frequency = this._frequency();
  }

  /**
   * The current poll frequency (for tests and diagnostics).
   */
  get frequency(): IPoll.Frequency {
    return this._poll.frequency;
  }

  /**
   * Whether the model is disposed.
   */
  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /**
   * Fetch the current page now; any fetch already under way is superseded,
   * so its result is dropped.
   *
   * It never rejects: a failure shows as the `disconnected` state.
   */
  async refresh(): Promise<void> {
    if (this._isDisposed) {
      return;
    }
    this._generation += 1;
    await this._poll.schedule({
      interval: Poll.IMMEDIATE,
      phase: 'refreshed'
    });
    await this._poll.tick.catch(() => undefined);
  }

  /**
   * Stop polling, leave the feed and clear the signals.
   */
  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    // Poll.dispose() leaves its pending timer; stopping first clears it.
    void this._poll.stop();
    this._poll.dispose();
    if (this._feed && !this._feed.isDisposed) {
      this._feed.changed.disconnect(this._onFeedChanged, this);
      this._feed.openChanged.disconnect(this._onFeedOpen, this);
    }
    Signal.clearData(this);
  }

  /**
   * Fetch the data of the current page and filter.
   *
   * @returns The fetched data, handed to `apply` unless superseded.
   */
  protected abstract fetch(): Promise<T>;

  /**
   * Store freshly fetched data (`changed` is emitted afterwards).
   *
   * @param data What `fetch` returned.
   */
  protected abstract apply(data: T): void;

  /**
   * Emit `changed` (for subclasses whose own state changed).
   */
  protected emitChanged(): void {
    if (!this._isDisposed) {
      this._changed.emit(undefined);
    }
  }

  private async _tick(): Promise<void> {
    const generation = this._generation;
    let data: T;
    try {
      data = await this.fetch();
    } catch (error) {
      if (generation === this._generation && !this._isDisposed) {
        this._state = 'disconnected';
        this._message = describeError(error);
        this.emitChanged();
      }
      // Rejecting makes the poll back off while the server is unavailable.
      throw error;
    }
    if (generation !== this._generation || this._isDisposed) {
      return;
    }
    this.apply(data);
    this._state = 'connected';
    this._message = null;
    this.emitChanged();
  }

  private _frequency(): IPoll.Frequency {
    const pushed = this._feed?.isOpen ?? false;
    const interval = pushed
      ? Math.min(this._intervalMs * PolledModel.PUSH_SLOWDOWN, Private.MAX_MS)
      : this._intervalMs;
    return {
      interval,
      backoff: true,
      max: Math.min(
        Math.max(interval, this._intervalMs * PolledModel.PUSH_SLOWDOWN, 60000),
        Private.MAX_MS
      )
    };
  }

  private _onFeedChanged(_: ChangeFeed, topic: EventTopic): void {
    if (topic === this._topic && !this._isDisposed) {
      void this._poll.refresh();
    }
  }

  private _onFeedOpen(): void {
    if (this._isDisposed) {
      return;
    }
    this._poll.frequency = this._frequency();
    // A change may have been missed while the socket was down, and the
    // frequency only applies from the next tick: refresh now.
    void this._poll.refresh();
  }

  private _topic: EventTopic;
  private _intervalMs: number;
  private _feed: ChangeFeed | null;
  private _poll: Poll;
  private _generation = 0;
  private _state: ConnectionState = 'connecting';
  private _message: string | null = null;
  private _isDisposed = false;
  private _changed = new Signal<this, void>(this);
}

/**
 * A namespace for `PolledModel` statics.
 */
export namespace PolledModel {
  /**
   * How much slower the models poll while the push socket is open.
   */
  export const PUSH_SLOWDOWN = 6;

  /**
   * Options to create a polled model.
   */
  export interface IOptions {
    /**
     * The `ChangeFeed` topic that refreshes this model.
     */
    topic: EventTopic;
    /**
     * The push channel; without one the model only polls.
     */
    feed?: ChangeFeed | null;
    /**
     * Polling interval in milliseconds (default 5000, at least 1000).
     */
    refreshIntervalMs?: number;
    /**
     * Whether to start polling at once (default true).
     */
    autoStart?: boolean;
  }
}

/**
 * Module-private constants.
 */
namespace Private {
  /**
   * The longest delay a `Poll` accepts.
   */
  export const MAX_MS = Poll.MAX_INTERVAL;
}

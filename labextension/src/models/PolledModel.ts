import { IPoll, Poll } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';

import type { EventTopic } from '../api/types';
import type { ChangeFeed } from './ChangeFeed';
import { Disposable } from './Disposable';
import { ConnectionState, describeError, pollFrequency } from './connection';

/**
 * Base of the models (cluster, jobs, sessions, actors): a `Poll` that
 * fetches the data every interval, and at once when the `ChangeFeed` (if
 * any) says the model's topic changed (or has just subscribed). Pushes make a
 * change show at once; the poll still reconciles every interval, so a list
 * is never staler than one interval whatever happens to a push.
 *
 * A failed fetch (network error, `503 ray_unavailable`, ...) turns the model
 * `disconnected` with the server's message and makes the poll back off; the
 * model keeps its last data and becomes `connected` again with the next
 * successful fetch.
 */
export abstract class PolledModel<T, S = unknown> extends Disposable {
  /** Create the model and start polling. */
  constructor(options: PolledModel.IOptions<S>) {
    super();
    this.service = options.service;
    this._topic = options.topic ?? null;
    this.poll = new Poll({
      auto: options.autoStart ?? true,
      factory: () => this._tick(),
      frequency: pollFrequency(options.refreshIntervalMs),
      name: `iog-jupyter:${options.name ?? options.topic}`,
      standby: 'when-hidden'
    });
    // Signal.clearData(this) in dispose() disconnects these.
    options.feed?.changed.connect(this._onFeedChanged, this);
  }

  /** The service the model fetches through. */
  readonly service: S;

  /** A signal emitted when the data or the connection state changed. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** Whether the last fetch succeeded. */
  get state(): ConnectionState {
    return this._state;
  }

  /** Whether data arrived at least once. */
  get loaded(): boolean {
    return this._data !== null;
  }

  /** What went wrong with the last fetch, in words; null when it succeeded. */
  get message(): string | null {
    return this._message;
  }

  /** The polling interval in milliseconds. */
  get refreshIntervalMs(): number {
    return this.poll.frequency.interval;
  }
  set refreshIntervalMs(value: number) {
    // The poll ignores a frequency equal to its own.
    this.poll.frequency = pollFrequency(value);
  }

  /** The current poll frequency (for tests and diagnostics). */
  get frequency(): IPoll.Frequency {
    return this.poll.frequency;
  }

  /**
   * Fetch the data now; any fetch already under way is superseded,
   * so its result is dropped.
   *
   * It never rejects: a failure shows as the `disconnected` state.
   */
  async refresh(): Promise<void> {
    if (this.isDisposed) {
      return;
    }
    this.supersede();
    await this.poll.schedule({
      interval: Poll.IMMEDIATE,
      phase: 'refreshed'
    });
    await this.poll.tick.catch(() => undefined);
  }

  /** Stop polling (clearing the signals leaves the feed). */
  protected onDispose(): void {
    // Poll.dispose() leaves its pending timer; stopping first clears it.
    void this.poll.stop();
    this.poll.dispose();
  }

  /** The poll that fetches the data. */
  protected readonly poll: Poll;

  /** The data of the last successful fetch (or push); null before the first. */
  protected get data(): T | null {
    return this._data;
  }

  /**
   * Fetch the data of the current page and filter.
   *
   * @returns The fetched data, kept unless superseded.
   */
  protected abstract fetch(): Promise<T>;

  /** Keep fresh data and turn `connected`. */
  protected setData(data: T): void {
    this._data = data;
    this._state = 'connected';
    this._message = null;
    this.emitChanged();
  }

  /**
   * Set the connection state, emitting `changed` when it differs.
   *
   * @param message What went wrong, in words; null when connected.
   */
  protected setState(state: ConnectionState, message: string | null): void {
    if (state !== this._state || message !== this._message) {
      this._state = state;
      this._message = message;
      this.emitChanged();
    }
  }

  /** Drop the result of any fetch under way (newer data is coming). */
  protected supersede(): void {
    this._generation += 1;
  }

  /** Emit `changed` (for subclasses whose own state changed). */
  protected emitChanged(): void {
    if (!this.isDisposed) {
      this._changed.emit(undefined);
    }
  }

  /** Wait for an action's reply, then refresh (without waiting for that). */
  protected async thenRefresh<R>(action: Promise<R>): Promise<R> {
    const reply = await action;
    void this.refresh();
    return reply;
  }

  private async _tick(): Promise<void> {
    const generation = this._generation;
    let data: T;
    try {
      data = await this.fetch();
    } catch (error) {
      if (generation === this._generation && !this.isDisposed) {
        this.setState('disconnected', describeError(error));
      }
      // Rejecting makes the poll back off while the server is unavailable.
      throw error;
    }
    if (generation === this._generation && !this.isDisposed) {
      this.setData(data);
    }
  }

  private _onFeedChanged(_: ChangeFeed, topic: EventTopic): void {
    if (topic === this._topic && !this.isDisposed) {
      void this.poll.refresh();
    }
  }

  private _topic: EventTopic | null;
  private _data: T | null = null;
  private _generation = 0;
  private _state: ConnectionState = 'connecting';
  private _message: string | null = null;
  private _changed = new Signal<this, void>(this);
}

/** A namespace for `PolledModel` statics. */
export namespace PolledModel {
  /** Options to create a polled model. */
  export interface IOptions<S = unknown> {
    /** The service to fetch through. */
    service: S;
    /** The `ChangeFeed` topic that refreshes this model, if any. */
    topic?: EventTopic;
    /** The poll's name after `iog-jupyter:` (default the topic). */
    name?: string;
    /** The push channel; without one the model only polls. */
    feed?: ChangeFeed | null;
    /** Polling interval in milliseconds (default 5000, at least 1000). */
    refreshIntervalMs?: number;
    /** Whether to start polling at once (default true). */
    autoStart?: boolean;
  }
}

import { IDisposable } from '@lumino/disposable';
import { IPoll, Poll } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';

import { IogSocket } from '../api/socket';
import { StatusService } from '../api/services';
import type { ClusterSnapshot } from '../api/types';
import {
  DEFAULT_REFRESH_INTERVAL_MS,
  MIN_REFRESH_INTERVAL_MS
} from '../tokens';
import { clampInterval, ConnectionState, describeError } from './connection';

/**
 * The cluster as the sidebar and the status bar show it: the latest
 * snapshot and whether the server reaches Ray.
 *
 * It is fed by the `cluster/subscribe` websocket: `{"type": "snapshot",
 * "data": ...}` and `{"type": "status", "connected": ..., "message": ...}`.
 * While that socket is not open, a `Poll` on `GET cluster` takes over, and
 * stops again once the socket reopens.
 */
export class ClusterModel implements IDisposable {
  /**
   * Create the model and connect.
   *
   * @param options The model options.
   */
  constructor(options: ClusterModel.IOptions) {
    this.service = options.service;
    this._intervalMs = clampInterval(
      options.refreshIntervalMs ?? DEFAULT_REFRESH_INTERVAL_MS,
      MIN_REFRESH_INTERVAL_MS
    );
    this._poll = new Poll({
      auto: false,
      factory: () => this._fetch(),
      frequency: this._frequency(),
      name: 'iog-jupyter:cluster',
      standby: 'when-hidden'
    });
    this._socket =
      options.socket ??
      new IogSocket({
        path: 'cluster/subscribe',
        serverSettings: this.service.serverSettings
      });
    this._socket.messageReceived.connect(this._onMessage, this);
    this._socket.stateChanged.connect(this._onSocketState, this);
    if (this._socket.state === 'closed') {
      void this._poll.start();
    }
  }

  /**
   * The service used by the fallback poll.
   */
  readonly service: StatusService;

  /**
   * A signal emitted when the snapshot or the connection state changed.
   */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /**
   * The latest snapshot; null before the first one. It is kept (stale)
   * while disconnected.
   */
  get snapshot(): ClusterSnapshot | null {
    return this._snapshot;
  }

  /**
   * Whether the server reaches Ray.
   */
  get state(): ConnectionState {
    return this._state;
  }

  /**
   * Why the cluster is unreachable, in the server's words; null otherwise.
   */
  get message(): string | null {
    return this._message;
  }

  /**
   * Whether snapshots are pushed (the websocket is open) rather than polled.
   */
  get isPushed(): boolean {
    return this._socket.state === 'open';
  }

  /**
   * Whether the fallback poll is running.
   */
  get isPolling(): boolean {
    const phase = this._poll.state.phase;
    return (
      phase !== 'stopped' && phase !== 'constructed' && phase !== 'disposed'
    );
  }

  /**
   * The fallback polling interval in milliseconds.
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
   * Whether the model is disposed.
   */
  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /**
   * Get a fresh snapshot now: over the socket (`{"type": "refresh"}`, the
   * server polls Ray at once and pushes the result) when it is open, else
   * with `GET cluster`.
   *
   * It never rejects: a failure shows as the `disconnected` state.
   */
  async refresh(): Promise<void> {
    if (this._isDisposed) {
      return;
    }
    if (this._socket.send({ type: 'refresh' })) {
      return;
    }
    await this._poll.refresh();
    await this._poll.tick.catch(() => undefined);
  }

  /**
   * Close the socket, stop polling and clear the signals.
   */
  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    // Poll.dispose() leaves its pending timer; stopping first clears it.
    void this._poll.stop();
    this._poll.dispose();
    this._socket.dispose();
    Signal.clearData(this);
  }

  private async _fetch(): Promise<void> {
    try {
      const snapshot = await this.service.getCluster();
      if (!this._isDisposed && !this.isPushed) {
        this._setSnapshot(snapshot);
      }
    } catch (error) {
      if (!this._isDisposed && !this.isPushed) {
        this._setState('disconnected', describeError(error));
      }
      throw error;
    }
  }

  private _onMessage(_: IogSocket, message: unknown): void {
    const parsed = Private.parseMessage(message);
    if (!parsed || this._isDisposed) {
      return;
    }
    if (parsed.type === 'snapshot') {
      this._setSnapshot(parsed.data);
      return;
    }
    if (parsed.connected) {
      this._setState('connected', null);
    } else {
      this._setState(
        'disconnected',
        parsed.message || ClusterModel.RAY_UNREACHABLE_MESSAGE
      );
    }
  }

  private _onSocketState(_: IogSocket, state: IogSocket.State): void {
    if (this._isDisposed) {
      return;
    }
    if (state === 'open') {
      void this._poll.stop();
    } else if (state === 'closed') {
      void this._poll.start();
    }
    this._changed.emit(undefined);
  }

  private _setSnapshot(snapshot: ClusterSnapshot): void {
    this._snapshot = snapshot;
    this._state = 'connected';
    this._message = null;
    this._changed.emit(undefined);
  }

  private _setState(state: ConnectionState, message: string | null): void {
    if (state === this._state && message === this._message) {
      return;
    }
    this._state = state;
    this._message = message;
    this._changed.emit(undefined);
  }

  private _frequency(): IPoll.Frequency {
    return {
      interval: this._intervalMs,
      backoff: true,
      max: Math.max(this._intervalMs, 60000)
    };
  }

  private _socket: IogSocket;
  private _poll: Poll;
  private _intervalMs: number;
  private _snapshot: ClusterSnapshot | null = null;
  private _state: ConnectionState = 'connecting';
  private _message: string | null = null;
  private _isDisposed = false;
  private _changed = new Signal<this, void>(this);
}

/**
 * A namespace for `ClusterModel` statics.
 */
export namespace ClusterModel {
  /**
   * Shown when the server says Ray is unreachable without saying why.
   */
  export const RAY_UNREACHABLE_MESSAGE = 'Ray is not reachable.';

  /**
   * Options to create a `ClusterModel`.
   */
  export interface IOptions {
    /**
     * The service used by the fallback poll; its server settings also
     * build the socket's URL.
     */
    service: StatusService;
    /**
     * An existing `cluster/subscribe` socket to use (for tests).
     */
    socket?: IogSocket;
    /**
     * The fallback polling interval in milliseconds (default 5000).
     */
    refreshIntervalMs?: number;
  }
}

/**
 * Module-private helpers.
 */
namespace Private {
  /**
   * A validated `cluster/subscribe` message.
   */
  export type Message =
    | { type: 'snapshot'; data: ClusterSnapshot }
    | { type: 'status'; connected: boolean; message: string | null };

  /**
   * Check the shape of a socket message.
   *
   * @param message The parsed JSON message.
   * @returns The message, or null when it is not one the model knows.
   */
  export function parseMessage(message: unknown): Message | null {
    if (message === null || typeof message !== 'object') {
      return null;
    }
    const record = message as Record<string, unknown>;
    if (record.type === 'snapshot') {
      const data = record.data;
      if (
        data !== null &&
        typeof data === 'object' &&
        Array.isArray((data as Record<string, unknown>).nodes)
      ) {
        return { type: 'snapshot', data: data as ClusterSnapshot };
      }
      return null;
    }
    if (record.type === 'status' && typeof record.connected === 'boolean') {
      return {
        type: 'status',
        connected: record.connected,
        message: typeof record.message === 'string' ? record.message : null
      };
    }
    return null;
  }
}

import { IPoll } from '@lumino/polling';

import type { StatusService } from '../api/services';
import { IogSocket } from '../api/socket';
import type { ClusterSnapshot } from '../api/types';
import { PolledModel } from './PolledModel';

/**
 * The cluster as the sidebar and the status bar show it: the latest
 * snapshot and whether the server reaches Ray.
 *
 * It is fed by the `cluster/subscribe` websocket: `{"type": "snapshot",
 * "data": ...}` and `{"type": "status", "connected": ..., "message": ...}`.
 * While that socket is not open, a `Poll` on `GET cluster` takes over, and
 * stops again once the socket reopens.
 */
export class ClusterModel extends PolledModel<ClusterSnapshot, StatusService> {
  /**
   * Create the model and connect.
   *
   * @param options The model options.
   */
  constructor(options: ClusterModel.IOptions) {
    super({ ...options, name: 'cluster', autoStart: false });
    this._socket =
      options.socket ??
      new IogSocket({
        path: 'cluster/subscribe',
        serverSettings: this.service.serverSettings
      });
    this._socket.messageReceived.connect(this._onMessage, this);
    this._socket.stateChanged.connect(this._onSocketState, this);
    if (this._socket.state === 'closed') {
      void this.poll.start();
    }
  }

  /**
   * The latest snapshot; null before the first one. It is kept (stale)
   * while disconnected.
   */
  get snapshot(): ClusterSnapshot | null {
    return this.data;
  }

  /**
   * Whether snapshots are pushed (the websocket is open) rather than polled.
   */
  get isPushed(): boolean {
    return this._socket.state === 'open';
  }

  /** Whether the fallback poll is running. */
  get isPolling(): boolean {
    const phase = this.poll.state.phase;
    return (
      phase !== 'stopped' && phase !== 'constructed' && phase !== 'disposed'
    );
  }

  /**
   * Get a fresh snapshot now: over the socket (`{"type": "refresh"}`, the
   * server polls Ray at once and pushes the result) when it is open, else
   * with `GET cluster`.
   *
   * It never rejects: a failure shows as the `disconnected` state.
   */
  async refresh(): Promise<void> {
    if (!this.isDisposed && !this._socket.send({ type: 'refresh' })) {
      await super.refresh();
    }
  }

  /** Close the socket, stop polling and clear the signals. */
  dispose(): void {
    if (!this.isDisposed) {
      super.dispose();
      this._socket.dispose();
    }
  }

  /**
   * Fetch a snapshot (while the socket is not open).
   *
   * @returns The snapshot.
   */
  protected fetch(): Promise<ClusterSnapshot> {
    return this.service.getCluster();
  }

  /**
   * The fallback poll's frequency: the interval, with backoff up to a
   * minute (or the interval, when longer).
   *
   * @returns The frequency.
   */
  protected pollFrequency(): IPoll.Frequency {
    const interval = this.refreshIntervalMs;
    return { interval, backoff: true, max: Math.max(interval, 60000) };
  }

  private _onMessage(_: IogSocket, message: unknown): void {
    // `{"type": "snapshot", "data": ...}` or `{"type": "status",
    // "connected": ..., "message": ...}`; anything else is ignored.
    const record = (message ?? {}) as Record<string, unknown>;
    const { type, connected, message: text } = record;
    const snapshot = record.data as ClusterSnapshot | null | undefined;
    if (this.isDisposed) {
      return;
    }
    if (type === 'snapshot' && Array.isArray(snapshot?.nodes)) {
      // Pushed news wins over a poll answer still under way.
      this.supersede();
      this.setData(snapshot);
    } else if (type === 'status' && typeof connected === 'boolean') {
      this.supersede();
      this.setState(
        connected ? 'connected' : 'disconnected',
        connected
          ? null
          : (typeof text === 'string' && text) ||
              ClusterModel.RAY_UNREACHABLE_MESSAGE
      );
    }
  }

  private _onSocketState(_: IogSocket, state: IogSocket.State): void {
    if (this.isDisposed) {
      return;
    }
    if (state === 'open') {
      this.supersede();
      void this.poll.stop();
    } else if (state === 'closed') {
      void this.poll.start();
    }
    this.emitChanged();
  }

  private _socket: IogSocket;
}

/** A namespace for `ClusterModel` statics. */
export namespace ClusterModel {
  /** Shown when the server says Ray is unreachable without saying why. */
  export const RAY_UNREACHABLE_MESSAGE = 'Ray is not reachable.';

  /** Options to create a `ClusterModel`. */
  export interface IOptions {
    /**
     * The service used by the fallback poll; its server settings also
     * build the socket's URL.
     */
    service: StatusService;
    /** An existing `cluster/subscribe` socket to use (for tests). */
    socket?: IogSocket;
    /** The fallback polling interval in milliseconds (default 5000). */
    refreshIntervalMs?: number;
  }
}

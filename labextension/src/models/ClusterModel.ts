import type { StatusService } from '../api/services';
import { IogSocket } from '../api/socket';
import type { ClusterDelta, ClusterSnapshot, Pool } from '../api/types';
import { PolledModel } from './PolledModel';

/**
 * The cluster as the sidebar and the status bar show it: the latest
 * snapshot and whether the server reaches Ray.
 *
 * It is fed by the `cluster/subscribe?deltas=1` websocket: `{"type":
 * "snapshot", "seq": n, "data": ...}` on connect, then one `{"type": "delta",
 * "seq": n + 1, ...}` per change (applied with `applyClusterDelta`), and
 * `{"type": "status", "connected": ..., "message": ...}`. A delta whose seq
 * does not follow the last one, or that does not fit the snapshot held, is
 * answered with `{"type": "resync"}`, and deltas are ignored until the
 * server's whole snapshot comes back. While that socket is not open, a `Poll`
 * on `GET cluster` takes over, and stops again once the socket reopens.
 */
export class ClusterModel extends PolledModel<ClusterSnapshot, StatusService> {
  /** Create the model and connect. */
  constructor(options: ClusterModel.IOptions) {
    super({ ...options, name: 'cluster', autoStart: false });
    this._socket =
      options.socket ??
      new IogSocket({
        path: 'cluster/subscribe',
        params: () => ({ deltas: '1' }),
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

  /**
   * The sequence number of the snapshot held, as the server numbered it; null
   * when unknown (none pushed yet on this socket, or it came from a poll).
   */
  get sequence(): number | null {
    return this._seq;
  }

  /** How many times the model asked the server for a resync. */
  get resyncs(): number {
    return this._resyncs;
  }

  /** Whether the fallback poll is running. */
  get isPolling(): boolean {
    const idle = ['stopped', 'constructed', 'disposed'];
    return !idle.includes(this.poll.state.phase);
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

  /** Stop polling and close the socket. */
  protected onDispose(): void {
    super.onDispose();
    this._socket.dispose();
  }

  /** Fetch a snapshot (while the socket is not open). */
  protected fetch(): Promise<ClusterSnapshot> {
    return this.service.getCluster();
  }

  private _onMessage(_: IogSocket, message: unknown): void {
    // `{"type": "snapshot", "seq": ..., "data": ...}`, `{"type": "delta",
    // "seq": ..., ...}` or `{"type": "status", "connected": ...,
    // "message": ...}`; anything else is ignored.
    const record = (message ?? {}) as Record<string, unknown>;
    const { type, connected, message: text } = record;
    const snapshot = record.data as ClusterSnapshot | null | undefined;
    if (type === 'snapshot' && Array.isArray(snapshot?.nodes)) {
      // Pushed news wins over a poll answer still under way.
      this.supersede();
      this._seq = typeof record.seq === 'number' ? record.seq : null;
      this._resyncing = false;
      this.setData(snapshot);
    } else if (type === 'delta') {
      this._onDelta(record as unknown as ClusterDelta);
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

  private _onDelta(delta: ClusterDelta): void {
    if (this._resyncing) {
      return; // the whole snapshot is on its way
    }
    const base = this.data;
    if (base === null || this._seq === null || delta.seq !== this._seq + 1) {
      this._resync();
      return;
    }
    let next: ClusterSnapshot;
    try {
      next = applyClusterDelta(base, delta);
    } catch {
      this._resync();
      return;
    }
    this.supersede();
    this._seq = delta.seq;
    this.setData(next);
  }

  private _resync(): void {
    // When the socket is not open, its next connection starts with a snapshot.
    if (this._socket.send({ type: 'resync' })) {
      this._resyncing = true;
      this._resyncs += 1;
    }
  }

  private _onSocketState(_: IogSocket, state: IogSocket.State): void {
    // A new connection starts with a whole snapshot and its own seq.
    this._seq = null;
    this._resyncing = false;
    if (state === 'open') {
      this.supersede();
      void this.poll.stop();
    } else if (state === 'closed') {
      void this.poll.start();
    }
    this.emitChanged();
  }

  private _socket: IogSocket;
  private _seq: number | null = null;
  private _resyncing = false;
  private _resyncs = 0;
}

/**
 * Apply a `cluster/subscribe` delta to the snapshot it follows (the one
 * numbered `delta.seq - 1`), as the server's `core/cluster_delta.py` does:
 * drop the removed and changed nodes, then place the added and changed ones
 * at their index; pools likewise by name, each pool's `node_ids` by id; a
 * top-level field that is null did not change.
 *
 * @returns A new snapshot; `base` is left as it is.
 * @throws {Error} The delta does not fit `base` (the caller resyncs).
 */
export function applyClusterDelta(
  base: ClusterSnapshot,
  delta: ClusterDelta
): ClusterSnapshot {
  const nodes = Private.patch(
    base.nodes,
    node => node.node_id,
    delta.nodes_removed,
    delta.nodes_added.map(p => [p.index, p.node]),
    delta.nodes_changed.map(p => [p.index, p.node])
  );
  if (nodes.length !== delta.num_nodes) {
    throw new Error(
      `${nodes.length} nodes once applied, not ${delta.num_nodes}`
    );
  }
  const oldPools = new Map(base.pools.map(pool => [pool.name, pool]));
  const added: [number, Pool][] = [];
  const changed: [number, Pool][] = [];
  for (const change of delta.pools_changed) {
    const old = oldPools.get(change.name);
    const ids = Private.patch(
      old?.node_ids ?? [],
      id => id,
      change.node_ids_removed,
      change.node_ids_added.map(p => [p.index, p.node_id]),
      []
    );
    if (ids.length !== change.num_nodes) {
      throw new Error(`pool ${change.name}: ${ids.length} node ids`);
    }
    const pool: Pool = {
      name: change.name,
      num_nodes: change.num_nodes,
      node_ids: ids,
      totals: change.totals,
      available: change.available
    };
    (old ? changed : added).push([change.index, pool]);
  }
  const pools = Private.patch(
    base.pools,
    pool => pool.name,
    delta.pools_removed,
    added,
    changed
  );
  return {
    ...base,
    timestamp_ms: delta.timestamp_ms,
    timestamp: delta.timestamp,
    nodes,
    pools,
    totals: delta.totals ?? base.totals,
    available: delta.available ?? base.available,
    pending_demands: delta.pending_demands ?? base.pending_demands,
    infeasible_demands: delta.infeasible_demands ?? base.infeasible_demands
  };
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

/** Module-private helpers. */
namespace Private {
  /**
   * Drop the `removed` keys and the keys of `changed`, then place the items
   * of `added` and `changed` at their index; the others keep their order.
   *
   * @param keyOf The key of an item (unique in the list).
   * @param added New items and their index in the result.
   * @param changed Replaced items and their index in the result.
   * @throws {Error} A key or index does not fit `items`.
   */
  export function patch<T>(
    items: readonly T[],
    keyOf: (item: T) => string,
    removed: readonly string[],
    added: readonly (readonly [number, T])[],
    changed: readonly (readonly [number, T])[]
  ): T[] {
    const keys = new Set(items.map(keyOf));
    if (keys.size !== items.length) {
      throw new Error('repeated keys in the snapshot held');
    }
    const gone = new Set(removed);
    for (const [, item] of changed) {
      gone.add(keyOf(item));
    }
    for (const key of gone) {
      if (!keys.has(key)) {
        throw new Error(`the delta drops ${key}, which is not held`);
      }
    }
    for (const [, item] of added) {
      if (keys.has(keyOf(item))) {
        throw new Error(`the delta adds ${keyOf(item)}, which is held`);
      }
    }
    const kept = items.filter(item => !gone.has(keyOf(item)));
    const size = kept.length + added.length + changed.length;
    const placed = new Map<number, T>();
    for (const [index, item] of [...added, ...changed]) {
      if (!Number.isInteger(index) || index < 0 || index >= size) {
        throw new Error(`index ${index} out of range`);
      }
      if (placed.has(index)) {
        throw new Error(`index ${index} placed twice`);
      }
      placed.set(index, item);
    }
    const result: T[] = [];
    let next = 0;
    for (let index = 0; index < size; index++) {
      const item = placed.get(index);
      result.push(item === undefined ? kept[next++] : item);
    }
    return result;
  }
}

/**
 * Unit tests of the cluster model: websocket push first, `GET cluster`
 * polling while the socket is not open.
 */

jest.mock('@jupyterlab/services', () =>
  jest.requireActual('./fakes').servicesStub()
);
jest.mock('../api/request', () => ({
  ...jest.requireActual('../api/request'),
  requestAPI: jest.fn()
}));

import { ServerConnection } from '@jupyterlab/services';

import { requestAPI } from '../api/request';
import { IogSocket } from '../api/socket';
import { StatusService } from '../api/services';
import type { ClusterDelta, ClusterSnapshot } from '../api/types';
import { applyClusterDelta, ClusterModel } from '../models/ClusterModel';
import { SERVER_UNREACHABLE_MESSAGE } from '../models/connection';
import {
  FakeWebSocket,
  flush,
  makeSettings,
  responseError,
  routeRequests,
  sockets,
  wire
} from './fakes';

const mockRequest = requestAPI as unknown as jest.Mock;

function snapshot(gpuFree = 1): ClusterSnapshot {
  return wire<ClusterSnapshot>({
    timestamp: '2024-05-01T10:00:00Z',
    timestamp_ms: 1714557600000,
    totals: { CPU: 8, GPU: 2 },
    available: { CPU: 6, GPU: gpuFree },
    nodes: [],
    pools: []
  });
}

type NodeRecord = ClusterSnapshot['nodes'][number];

function node(id: string, pool: string, cpuFree: number): NodeRecord {
  return wire<NodeRecord>({
    node_id: id,
    node_name: id,
    state: cpuFree < 4 ? 'ACTIVE' : 'IDLE',
    pool,
    resources_total: { CPU: 4 },
    resources_available: { CPU: cpuFree },
    idle_ms: null
  });
}

/** Three nodes in two pools; node `b` has `bFree` CPUs free. */
function cluster(bFree = 4, timestampMs = 1000): ClusterSnapshot {
  const nodes = [
    node('a', 'cpu', 4),
    node('b', 'cpu', bFree),
    node('c', 'gpu', 4)
  ];
  return wire<ClusterSnapshot>({
    timestamp: null,
    timestamp_ms: timestampMs,
    totals: { CPU: 12 },
    available: { CPU: 8 + bFree },
    nodes,
    pending_demands: [],
    infeasible_demands: [],
    pools: [
      {
        name: 'cpu',
        num_nodes: 2,
        node_ids: ['a', 'b'],
        totals: { CPU: 8 },
        available: { CPU: 4 + bFree }
      },
      {
        name: 'gpu',
        num_nodes: 1,
        node_ids: ['c'],
        totals: { CPU: 4 },
        available: { CPU: 4 }
      }
    ]
  });
}

/** The delta (numbered `seq`) in which node `b` gets `bFree` CPUs free. */
function bDelta(
  seq: number,
  bFree: number,
  timestampMs = 1000 + seq
): ClusterDelta {
  return wire<ClusterDelta>({
    type: 'delta',
    seq,
    timestamp_ms: timestampMs,
    timestamp: null,
    num_nodes: 3,
    nodes_removed: [],
    nodes_added: [],
    nodes_changed: [{ index: 1, node: node('b', 'cpu', bFree) }],
    totals: null,
    available: { CPU: 8 + bFree },
    pending_demands: null,
    infeasible_demands: null,
    pools_removed: [],
    pools_changed: [
      {
        name: 'cpu',
        index: 0,
        num_nodes: 2,
        totals: { CPU: 8 },
        available: { CPU: 4 + bFree },
        node_ids_removed: [],
        node_ids_added: []
      }
    ]
  });
}

let model: ClusterModel | null = null;
const ownSockets = new WeakMap<ClusterModel, IogSocket>();

function makeModel(): { model: ClusterModel; socket: FakeWebSocket } {
  const serverSettings =
    makeSettings() as unknown as ServerConnection.ISettings;
  const service = new StatusService({ serverSettings });
  const iogSocket = new IogSocket({
    path: 'cluster/subscribe',
    serverSettings
  });
  model = new ClusterModel({
    service,
    socket: iogSocket,
    refreshIntervalMs: 1000
  });
  ownSockets.set(model, iogSocket);
  return { model, socket: sockets[sockets.length - 1] };
}

function socketOf(model: ClusterModel): IogSocket {
  return ownSockets.get(model) as IogSocket;
}

afterEach(() => {
  model?.dispose();
  model = null;
  mockRequest.mockReset();
  sockets.length = 0;
});

describe('ClusterModel', () => {
  it('opens its own cluster/subscribe socket by default', () => {
    const service = new StatusService({
      serverSettings: makeSettings() as unknown as ServerConnection.ISettings
    });
    model = new ClusterModel({ service });
    expect(sockets[sockets.length - 1].url).toBe(
      'ws://localhost:8888/iog/api/v1/cluster/subscribe?deltas=1'
    );
    model.dispose();
    expect(sockets[sockets.length - 1].closed).toBe(true);
  });

  it('takes pushed snapshots', () => {
    const { model, socket } = makeModel();
    expect(model.state).toBe('connecting');
    let changes = 0;
    model.changed.connect(() => changes++);

    socket.open();
    socket.receive({ type: 'snapshot', data: snapshot(0) });

    expect(model.state).toBe('connected');
    expect(model.isPushed).toBe(true);
    expect(model.snapshot?.available.GPU).toBe(0);
    expect(changes).toBeGreaterThanOrEqual(2);
    expect(mockRequest).not.toHaveBeenCalled();
  });

  it('follows the status messages: disconnected with the message, then back', () => {
    const { model, socket } = makeModel();
    socket.open();
    socket.receive({ type: 'snapshot', data: snapshot() });

    socket.receive({
      type: 'status',
      connected: false,
      message: 'Ray is not reachable at 127.0.0.1:6379.',
      last_update: '2024-05-01T10:00:05Z'
    });
    expect(model.state).toBe('disconnected');
    expect(model.message).toBe('Ray is not reachable at 127.0.0.1:6379.');
    expect(model.snapshot).not.toBeNull();

    socket.receive({ type: 'status', connected: false, message: null });
    expect(model.message).toBe(ClusterModel.RAY_UNREACHABLE_MESSAGE);

    socket.receive({ type: 'status', connected: true, message: null });
    expect(model.state).toBe('connected');
    expect(model.message).toBeNull();
  });

  it('ignores messages it does not know', () => {
    const { model, socket } = makeModel();
    socket.open();
    socket.receive({ type: 'snapshot', data: { nodes: 'nope' } });
    socket.receive({ type: 'status', connected: 'yes' });
    socket.receive({ type: 'other' });
    socket.receive('<b>not json</b>');
    expect(model.state).toBe('connecting');
    expect(model.snapshot).toBeNull();
  });

  it('polls GET cluster while the socket is closed, and stops once it opens', async () => {
    let fail = true;
    routeRequests(mockRequest, {
      'GET cluster': () => {
        if (fail) {
          throw responseError(503, 'Ray is down.', 'ray_unavailable');
        }
        return snapshot(2);
      }
    });
    const { model, socket } = makeModel();
    socket.drop();
    await flush();

    expect(model.isPolling).toBe(true);
    expect(model.state).toBe('disconnected');
    expect(model.message).toBe('Ray is down.');

    fail = false;
    await model.refresh();
    expect(model.state).toBe('connected');
    expect(model.snapshot?.available.GPU).toBe(2);

    // The next attempt opens: the poll stops.
    socketOf(model).reconnect();
    const reopened = sockets[sockets.length - 1];
    expect(reopened).not.toBe(socket);
    reopened.open();
    expect(model.isPushed).toBe(true);
    expect(model.isPolling).toBe(false);
  });

  it('reports a network failure while polling', async () => {
    routeRequests(mockRequest, {
      'GET cluster': () => {
        throw new ServerConnection.NetworkError(new TypeError('x'));
      }
    });
    const { model, socket } = makeModel();
    socket.drop();
    await flush();
    expect(model.state).toBe('disconnected');
    expect(model.message).toBe(SERVER_UNREACHABLE_MESSAGE);
  });

  it('refreshes over the socket when open, with GET cluster otherwise', async () => {
    const seen = routeRequests(mockRequest, {
      'GET cluster': () => snapshot()
    });
    const { model, socket } = makeModel();
    socket.open();

    await model.refresh();
    expect(socket.sent).toEqual([{ type: 'refresh' }]);
    expect(seen).toHaveLength(0);

    socket.drop();
    await model.refresh();
    expect(seen.length).toBeGreaterThan(0);
    expect(model.snapshot).not.toBeNull();
  });

  it('closes the socket and stops polling when disposed', () => {
    const { model, socket } = makeModel();
    socket.open();
    model.dispose();
    expect(socket.closed).toBe(true);
    expect(model.isDisposed).toBe(true);
    expect(model.isPolling).toBe(false);
  });
});

describe('applyClusterDelta', () => {
  it('applies a changed node, its pool and the changed totals', () => {
    const base = cluster(4);
    const next = applyClusterDelta(base, bDelta(2, 1, 1002));
    expect(next).toEqual({ ...cluster(1, 1002), timestamp: null });
    expect(base).toEqual(cluster(4)); // left as it was
  });

  it('adds and removes nodes and pools, each at its place', () => {
    const base = cluster(4);
    const delta = wire<ClusterDelta>({
      ...bDelta(2, 4),
      num_nodes: 3,
      nodes_removed: ['a'],
      nodes_added: [{ index: 2, node: node('d', 'tpu', 4) }],
      nodes_changed: [],
      available: null,
      pools_removed: ['gpu'],
      pools_changed: [
        {
          name: 'cpu',
          index: 0,
          num_nodes: 1,
          totals: { CPU: 4 },
          available: { CPU: 4 },
          node_ids_removed: ['a'],
          node_ids_added: []
        },
        {
          name: 'tpu',
          index: 1,
          num_nodes: 1,
          totals: { CPU: 4 },
          available: { CPU: 4 },
          node_ids_removed: [],
          node_ids_added: [{ index: 0, node_id: 'd' }]
        }
      ]
    });
    const next = applyClusterDelta(base, delta);
    expect(next.nodes.map(n => n.node_id)).toEqual(['b', 'c', 'd']);
    expect(next.pools.map(p => [p.name, p.node_ids])).toEqual([
      ['cpu', ['b']],
      ['tpu', ['d']]
    ]);
    expect(next.available).toBe(base.available);
  });

  it('refuses a delta that does not fit', () => {
    const base = cluster(4);
    const unknown = bDelta(2, 1);
    unknown.nodes_changed = [{ index: 1, node: node('zz', 'cpu', 1) }];
    expect(() => applyClusterDelta(base, unknown)).toThrow();
    expect(() =>
      applyClusterDelta(base, { ...bDelta(2, 1), num_nodes: 4 })
    ).toThrow();
    const twice = bDelta(2, 1);
    twice.nodes_added = [{ index: 0, node: node('a', 'cpu', 1) }];
    expect(() => applyClusterDelta(base, twice)).toThrow();
  });
});

describe('ClusterModel deltas', () => {
  it('applies deltas in sequence', () => {
    const { model, socket } = makeModel();
    socket.open();
    socket.receive({ type: 'snapshot', seq: 5, data: cluster(4) });
    expect(model.sequence).toBe(5);
    let changes = 0;
    model.changed.connect(() => changes++);

    socket.receive(bDelta(6, 2));
    socket.receive(bDelta(7, 1));
    expect(model.sequence).toBe(7);
    expect(model.snapshot?.nodes[1].resources_available.CPU).toBe(1);
    expect(model.snapshot?.available.CPU).toBe(9);
    expect(model.snapshot?.pools[0].available.CPU).toBe(5);
    expect(changes).toBe(2);
    expect(socket.sent).toEqual([]);
    expect(model.resyncs).toBe(0);
  });

  it('asks for a resync on a gap, and waits for the snapshot', () => {
    const { model, socket } = makeModel();
    socket.open();
    socket.receive({ type: 'snapshot', seq: 5, data: cluster(4) });

    socket.receive(bDelta(7, 1)); // 6 was lost
    expect(socket.sent).toEqual([{ type: 'resync' }]);
    expect(model.snapshot?.nodes[1].resources_available.CPU).toBe(4);
    socket.receive(bDelta(8, 0)); // ignored until the snapshot
    expect(socket.sent).toHaveLength(1);
    expect(model.sequence).toBe(5);

    socket.receive({ type: 'snapshot', seq: 8, data: cluster(0) });
    expect(model.sequence).toBe(8);
    socket.receive(bDelta(9, 3));
    expect(model.snapshot?.nodes[1].resources_available.CPU).toBe(3);
    expect(model.resyncs).toBe(1);
  });

  it('resyncs on a delta that does not fit, and on a delta before any snapshot', () => {
    const { model, socket } = makeModel();
    socket.open();
    socket.receive(bDelta(1, 1));
    expect(socket.sent).toEqual([{ type: 'resync' }]);
    socket.receive({ type: 'snapshot', seq: 1, data: cluster(4) });

    socket.receive({ ...bDelta(2, 1), num_nodes: 7 });
    expect(socket.sent).toHaveLength(2);
    expect(model.sequence).toBe(1);
    expect(model.snapshot?.nodes[1].resources_available.CPU).toBe(4);
    socket.receive({ type: 'delta', seq: 2, nodes_added: 'nope' });
    expect(socket.sent).toHaveLength(2); // already waiting
    expect(model.resyncs).toBe(2);
  });

  it('starts over after a reconnect: a delta needs the new snapshot', () => {
    const { model, socket } = makeModel();
    socket.open();
    socket.receive({ type: 'snapshot', seq: 3, data: cluster(4) });
    socket.drop();
    socketOf(model).reconnect();
    const reopened = sockets[sockets.length - 1];
    reopened.open();
    expect(model.sequence).toBeNull();
    reopened.receive(bDelta(4, 1));
    expect(reopened.sent).toEqual([{ type: 'resync' }]);
    reopened.receive({ type: 'snapshot', seq: 4, data: cluster(1) });
    expect(model.sequence).toBe(4);
  });

  it('takes snapshots without seq (an older server) and then resyncs deltas', () => {
    const { model, socket } = makeModel();
    socket.open();
    socket.receive({ type: 'snapshot', data: cluster(4) });
    expect(model.sequence).toBeNull();
    expect(model.snapshot?.nodes).toHaveLength(3);
    socket.receive(bDelta(2, 1));
    expect(socket.sent).toEqual([{ type: 'resync' }]);
  });
});

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
import type { ClusterSnapshot } from '../api/types';
import { ClusterModel } from '../models/ClusterModel';
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
      'ws://localhost:8888/iog/api/v1/cluster/subscribe'
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

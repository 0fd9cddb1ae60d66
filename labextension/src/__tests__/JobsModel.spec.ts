/**
 * Unit tests of the jobs model (and the ChangeFeed push it listens to),
 * with `requestAPI` answering canned responses per endpoint.
 */

jest.mock('@jupyterlab/services', () =>
  jest.requireActual('./fakes').servicesStub()
);
jest.mock('../api/request', () => ({
  ...jest.requireActual('../api/request'),
  requestAPI: jest.fn()
}));

import { ServerConnection } from '@jupyterlab/services';

import { JobsService } from '../api/services';
import { requestAPI } from '../api/request';
import type { JobPage, JobRecord } from '../api/types';
import { ChangeFeed } from '../models/ChangeFeed';
import { SERVER_UNREACHABLE_MESSAGE } from '../models/connection';
import { JobsModel } from '../models/JobsModel';
import {
  deferred,
  FakeWebSocket,
  flush,
  IRequest,
  makeSettings,
  responseError,
  routeRequests,
  sockets,
  wire
} from './fakes';

const mockRequest = requestAPI as unknown as jest.Mock;

function job(id: string, status: JobRecord['status'] = 'RUNNING'): JobRecord {
  return wire<JobRecord>({
    submission_id: id,
    status,
    entrypoint: `python ${id}.py`
  });
}

function page(
  jobs: JobRecord[],
  next_cursor: string | null = null,
  total = jobs.length
): JobPage {
  return { jobs, next_cursor, total };
}

const service = new JobsService({
  serverSettings: makeSettings() as unknown as ServerConnection.ISettings
});
let models: JobsModel[] = [];

function makeModel(options: Partial<JobsModel.IOptions> = {}): JobsModel {
  const model = new JobsModel({ service, autoStart: false, ...options });
  models.push(model);
  return model;
}

afterEach(() => {
  for (const model of models) {
    model.dispose();
  }
  models = [];
  mockRequest.mockReset();
  sockets.length = 0;
});

describe('JobsModel', () => {
  it('fetches the first page and the running count', async () => {
    const seen = routeRequests(mockRequest, {
      'GET jobs': ({ query }) =>
        query.status === 'RUNNING'
          ? page([job('r1')], 'c', 7)
          : page([job('a', 'SUCCEEDED'), job('b')], 'cursor-2', 120)
    });
    const model = makeModel();
    expect(model.state).toBe('connecting');

    await model.refresh();

    expect(model.state).toBe('connected');
    expect(model.jobs.map(j => j.submission_id)).toEqual(['a', 'b']);
    expect(model.total).toBe(120);
    expect(model.runningCount).toBe(7);
    expect(model.hasOlder).toBe(true);
    expect(model.hasNewer).toBe(false);
    const list = seen.find(r => !r.query.status) as IRequest;
    expect(list.query).toEqual({ limit: '50' });
    expect(seen.find(r => r.query.status)?.query).toEqual({
      status: 'RUNNING',
      limit: '1'
    });
  });

  it('filters by status on the server and restarts from the first page', async () => {
    const seen = routeRequests(mockRequest, {
      'GET jobs': ({ query }) =>
        query.cursor
          ? page([job('old', 'FAILED')], null, 3)
          : page([job(`first-${query.status ?? 'all'}`, 'FAILED')], 'c1', 3)
    });
    const model = makeModel();
    await model.refresh();
    await model.older();
    expect(model.pageIndex).toBe(1);

    seen.length = 0;
    await model.setStatusFilter('FAILED');

    expect(model.statusFilter).toBe('FAILED');
    expect(model.pageIndex).toBe(0);
    expect(model.jobs[0].submission_id).toBe('first-FAILED');
    const list = seen.find(r => r.query.status === 'FAILED') as IRequest;
    expect(list.query.cursor).toBeUndefined();
  });

  it('takes the running count from the page when filtering RUNNING', async () => {
    const seen = routeRequests(mockRequest, {
      'GET jobs': () => page([job('r1'), job('r2')], null, 2)
    });
    const model = makeModel();
    await model.setStatusFilter('RUNNING');

    expect(model.runningCount).toBe(2);
    expect(seen).toHaveLength(1);
  });

  it('pages older with next_cursor and newer back to the previous cursor', async () => {
    const seen = routeRequests(mockRequest, {
      'GET jobs': ({ query }) => {
        if (query.status) {
          return page([], null, 0);
        }
        if (query.cursor === 'p2') {
          return page([job('c', 'STOPPED')], 'p3', 3);
        }
        if (query.cursor === 'p3') {
          return page([job('d', 'STOPPED')], null, 3);
        }
        return page([job('a'), job('b')], 'p2', 3);
      }
    });
    const model = makeModel();
    await model.refresh();
    await model.older();
    expect(model.jobs[0].submission_id).toBe('c');
    await model.older();
    expect(model.jobs[0].submission_id).toBe('d');
    expect(model.hasOlder).toBe(false);
    expect(model.hasNewer).toBe(true);

    await model.older(); // no next cursor: nothing happens
    expect(model.pageIndex).toBe(2);

    await model.newer();
    expect(model.jobs[0].submission_id).toBe('c');
    await model.newer();
    expect(model.jobs[0].submission_id).toBe('a');
    expect(model.hasNewer).toBe(false);
    const cursors = seen.filter(r => !r.query.status).map(r => r.query.cursor);
    expect(cursors).toEqual([undefined, 'p2', 'p3', 'p2', undefined]);
  });

  it('turns disconnected with the server message and recovers by itself', async () => {
    let down = true;
    routeRequests(mockRequest, {
      'GET jobs': () => {
        if (down) {
          throw responseError(
            503,
            'Ray is not reachable at 127.0.0.1:6379; start it with `iog up`.',
            'ray_unavailable'
          );
        }
        return page([job('a')]);
      }
    });
    const model = makeModel();
    const states: string[] = [];
    model.changed.connect(() => states.push(model.state));

    await model.refresh();
    expect(model.state).toBe('disconnected');
    expect(model.message).toBe(
      'Ray is not reachable at 127.0.0.1:6379; start it with `iog up`.'
    );

    down = false;
    await model.refresh();
    expect(model.state).toBe('connected');
    expect(model.message).toBeNull();
    expect(model.jobs).toHaveLength(1);
    expect(states).toEqual(['disconnected', 'connected']);
  });

  it('keeps the last page while disconnected; network errors say so', async () => {
    let fail = false;
    routeRequests(mockRequest, {
      'GET jobs': () => {
        if (fail) {
          throw new ServerConnection.NetworkError(new TypeError('fetch'));
        }
        return page([job('a')]);
      }
    });
    const model = makeModel();
    await model.refresh();
    fail = true;
    await model.refresh();

    expect(model.state).toBe('disconnected');
    expect(model.message).toBe(SERVER_UNREACHABLE_MESSAGE);
    expect(model.jobs.map(j => j.submission_id)).toEqual(['a']);
  });

  it('drops the answer of a fetch superseded by a filter change', async () => {
    const slow = deferred<JobPage>();
    routeRequests(mockRequest, {
      'GET jobs': ({ query }) => {
        if (query.limit === '1') {
          return page([], null, 0);
        }
        return query.status === 'FAILED'
          ? page([job('failed', 'FAILED')])
          : slow.promise;
      }
    });
    const model = makeModel();
    const first = model.refresh();
    await flush();
    const second = model.setStatusFilter('FAILED');
    await flush();
    slow.resolve(page([job('stale')]));
    await Promise.all([first, second]);
    await flush();

    expect(model.jobs.map(j => j.submission_id)).toEqual(['failed']);
  });

  it('stops, deletes and submits through the REST API, then refreshes', async () => {
    const seen = routeRequests(mockRequest, {
      'GET jobs': () => page([job('a b')]),
      'POST jobs/a%20b/stop': () => ({ submission_id: 'a b', stopped: true }),
      'DELETE jobs/a%20b': () => ({ submission_id: 'a b', deleted: true }),
      'POST jobs': ({ body }) => ({
        submission_id: (body as { submission_id?: string }).submission_id
      })
    });
    const model = makeModel();

    expect((await model.stop('a b')).stopped).toBe(true);
    expect((await model.delete('a b')).deleted).toBe(true);
    const reply = await model.submit({
      entrypoint: 'python x.py',
      submission_id: 'x1'
    });
    expect(reply.submission_id).toBe('x1');
    await flush();

    expect(seen.map(r => `${r.method} ${r.path}`)).toEqual(
      expect.arrayContaining([
        'POST jobs/a%20b/stop',
        'DELETE jobs/a%20b',
        'POST jobs',
        'GET jobs'
      ])
    );
    expect(
      seen.find(r => r.method === 'POST' && r.path === 'jobs')?.body
    ).toEqual({
      entrypoint: 'python x.py',
      submission_id: 'x1'
    });
  });

  it('rethrows a refused stop for the view to show', async () => {
    routeRequests(mockRequest, {
      'POST jobs/j1/stop': () => {
        throw responseError(404, 'No job has the submission id j1.');
      }
    });
    const model = makeModel();
    await expect(model.stop('j1')).rejects.toThrow(
      'No job has the submission id j1.'
    );
  });
});

describe('JobsModel with a ChangeFeed', () => {
  function makeFeed(): { feed: ChangeFeed; socket: FakeWebSocket } {
    const feed = new ChangeFeed({
      serverSettings: makeSettings() as unknown as ServerConnection.ISettings
    });
    const socket = sockets[sockets.length - 1];
    return { feed, socket };
  }

  it('subscribes to the three topics', () => {
    const { feed, socket } = makeFeed();
    expect(socket.url).toBe(
      'ws://localhost:8888/iog/api/v1/events/subscribe?topics=jobs%2Csessions%2Cactors'
    );
    feed.dispose();
    expect(socket.closed).toBe(true);
  });

  it('refetches on a jobs push, not on other topics', async () => {
    const seen = routeRequests(mockRequest, {
      'GET jobs': () => page([job('a')])
    });
    const { feed, socket } = makeFeed();
    const model = makeModel({ feed });
    socket.open();
    await flush();
    seen.length = 0;

    socket.receive({ type: 'changed', topic: 'sessions' });
    socket.receive('not json');
    await flush();
    expect(seen).toHaveLength(0);

    socket.receive({ type: 'changed', topic: 'jobs' });
    await flush();
    expect(seen.length).toBeGreaterThan(0);
    expect(model.state).toBe('connected');
    feed.dispose();
  });

  it('re-fetches once subscribed and keeps polling at the interval', async () => {
    const seen = routeRequests(mockRequest, { 'GET jobs': () => page([]) });
    const { feed, socket } = makeFeed();
    const model = makeModel({ feed, refreshIntervalMs: 2000 });
    expect(model.frequency.interval).toBe(2000);

    socket.open();
    await flush();
    expect(feed.isOpen).toBe(false);
    seen.length = 0;
    // The server's baseline is taken: whatever changed before it is fetched now.
    socket.receive({ type: 'subscribed', topics: ['jobs'] });
    await flush();
    expect(feed.isOpen).toBe(true);
    expect(seen.filter(r => !r.query.status)).toHaveLength(1);
    expect(model.frequency.interval).toBe(2000);
    expect(model.frequency.backoff).toBe(true);

    socket.drop();
    expect(feed.isOpen).toBe(false);
    expect(model.frequency.interval).toBe(2000);

    model.refreshIntervalMs = 10;
    expect(model.refreshIntervalMs).toBe(1000);
    feed.dispose();
  });
});

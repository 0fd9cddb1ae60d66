/**
 * Unit tests of the REST services: one method per endpoint, path segments
 * encoded, empty query parameters left out.
 */

jest.mock('@jupyterlab/services', () =>
  jest.requireActual('./fakes').servicesStub()
);
jest.mock('../api/request', () => ({
  ...jest.requireActual('../api/request'),
  requestAPI: jest.fn(async () => ({}))
}));

import { ServerConnection } from '@jupyterlab/services';

import {
  ActorsService,
  encodePathSegment,
  JobsService,
  queryString,
  SessionsService,
  StatusService
} from '../api/services';
import { requestAPI } from '../api/request';
import { makeSettings } from './fakes';

const mockRequest = requestAPI as unknown as jest.Mock;
const serverSettings = makeSettings() as unknown as ServerConnection.ISettings;

function calls(): Array<[string, string]> {
  return mockRequest.mock.calls.map(([endPoint, init]) => [
    (init?.method as string | undefined) ?? 'GET',
    endPoint as string
  ]);
}

afterEach(() => {
  mockRequest.mockClear();
});

describe('path helpers', () => {
  it('encode segments, dots included', () => {
    expect(encodePathSegment('a/b c')).toBe('a%2Fb%20c');
    expect(encodePathSegment('..')).toBe('%2E%2E');
    expect(encodePathSegment('.')).toBe('%2E');
    expect(encodePathSegment('v1.2')).toBe('v1.2');
  });

  it('leave unset parameters out', () => {
    expect(queryString({ a: '', b: null, c: undefined })).toBe('');
    expect(queryString({ status: 'A,B', limit: 5, flag: false })).toBe(
      '?status=A%2CB&limit=5&flag=false'
    );
  });
});

describe('services', () => {
  it('call one endpoint per method', async () => {
    const status = new StatusService({ serverSettings });
    const jobs = new JobsService({ serverSettings });
    const sessions = new SessionsService({ serverSettings });
    const actors = new ActorsService({ serverSettings });

    await status.getStatus();
    await status.getCluster();
    await jobs.listJobs();
    await jobs.listJobs({
      status: ['RUNNING', 'PENDING'],
      limit: 10,
      cursor: 'c/1'
    });
    await jobs.submitJob({ entrypoint: 'ls' });
    await jobs.getJob('j.1');
    await jobs.stopJob('j 1');
    await jobs.deleteJob('..');
    await sessions.listSessions();
    await sessions.releaseSession('01000000');
    await actors.listActors({
      detached: true,
      namespace: 'a b',
      state: ['ALIVE']
    });
    await actors.killActor('ns/x', 'name?');

    expect(calls()).toEqual([
      ['GET', 'status'],
      ['GET', 'cluster'],
      ['GET', 'jobs'],
      ['GET', 'jobs?status=RUNNING%2CPENDING&limit=10&cursor=c%2F1'],
      ['POST', 'jobs'],
      ['GET', 'jobs/j.1'],
      ['POST', 'jobs/j%201/stop'],
      ['DELETE', 'jobs/%2E%2E'],
      ['GET', 'sessions'],
      ['POST', 'sessions/01000000/release'],
      ['GET', 'actors?detached=true&namespace=a%20b&state=ALIVE'],
      ['DELETE', 'actors/ns%2Fx/name%3F']
    ]);
    expect(mockRequest.mock.calls[4][1]).toEqual({
      method: 'POST',
      body: '{"entrypoint":"ls"}',
      headers: { 'Content-Type': 'application/json' }
    });
    for (const call of mockRequest.mock.calls) {
      expect(call[2]).toBe(serverSettings);
    }
  });

  it('know which job statuses are final', () => {
    expect(JobsService.STATUSES.filter(JobsService.isTerminal)).toEqual([
      'SUCCEEDED',
      'FAILED',
      'STOPPED'
    ]);
  });
});

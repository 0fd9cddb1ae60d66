/**
 * Unit tests of the job watcher: it tells each ending of a job of interest
 * once (owned, watched, or kept watched across a reload), nothing with the
 * setting off or for jobs that had ended when first seen.
 *
 * @jest-environment jsdom
 */

jest.mock('@jupyterlab/services', () =>
  jest.requireActual('./fakes').servicesStub()
);

import { Signal } from '@lumino/signaling';

import type { JobRecord, JobStatus } from '../api/types';
import type { JobsModel } from '../models/JobsModel';
import { JobWatcher, MAX_WATCHED } from '../models/JobWatcher';
import { responseError, wire } from './fakes';

const KEY = 'iog-jupyter:watched-jobs:/';

class FakeJobs {
  changed = new Signal<this, void>(this);
  jobs: JobRecord[] = [];
  isDisposed = false;

  show(...jobs: JobRecord[]): void {
    this.jobs = jobs;
    this.changed.emit(undefined);
  }
}

/** A job record with what the watcher reads. */
function job(id: string, status: JobStatus, owner = 'ada'): JobRecord {
  return wire<JobRecord>({ submission_id: id, name: id, status, owner });
}

function setup(getJob = jest.fn()): {
  model: FakeJobs;
  watcher: JobWatcher;
  told: JobRecord[];
  getJob: jest.Mock;
} {
  const model = new FakeJobs();
  const told: JobRecord[] = [];
  const watcher = new JobWatcher({
    model: model as unknown as JobsModel,
    service: { getJob },
    username: () => 'ada',
    notify: ended => told.push(ended),
    storage: window.localStorage,
    storageKey: KEY,
    autoStart: false
  });
  return { model, watcher, told, getJob };
}

describe('JobWatcher', () => {
  let watchers: JobWatcher[] = [];
  const make = (getJob?: jest.Mock): ReturnType<typeof setup> => {
    const made = setup(getJob);
    watchers.push(made.watcher);
    return made;
  };

  beforeEach(() => window.localStorage.clear());
  afterEach(() => {
    watchers.forEach(w => w.dispose());
    watchers = [];
  });

  it('tells once when an owned job goes from RUNNING to an end', () => {
    const { model, told } = make();
    model.show(job('a', 'RUNNING'));
    expect(told).toEqual([]);
    model.show(job('a', 'SUCCEEDED'));
    model.show(job('a', 'SUCCEEDED'));
    model.show(job('a', 'RUNNING')); // a stale page cannot make it end twice
    model.show(job('a', 'SUCCEEDED'));
    expect(told.map(j => [j.submission_id, j.status])).toEqual([
      ['a', 'SUCCEEDED']
    ]);
  });

  it('tells nothing while the setting is off', () => {
    const { model, watcher, told } = make();
    watcher.enabled = false;
    model.show(job('a', 'RUNNING'));
    model.show(job('a', 'FAILED'));
    expect(told).toEqual([]);
  });

  it('tells nothing of jobs that had ended when first seen, or of others', () => {
    const { model, told } = make();
    model.show(job('old', 'FAILED'), job('theirs', 'RUNNING', 'bob'));
    model.show(job('old', 'FAILED'), job('theirs', 'SUCCEEDED', 'bob'));
    expect(told).toEqual([]);
  });

  it('tells a watched job of another owner, and keeps the watch in storage', () => {
    const { model, watcher, told } = make();
    model.show(job('theirs', 'RUNNING', 'bob'));
    watcher.watch('theirs');
    expect(JSON.parse(window.localStorage.getItem(KEY)!)).toEqual({
      theirs: 'RUNNING'
    });
    model.show(job('theirs', 'STOPPED', 'bob'));
    expect(told.map(j => j.status)).toEqual(['STOPPED']);
    expect(JSON.parse(window.localStorage.getItem(KEY)!)).toEqual({});
  });

  it('tells a watched job that ended while the Lab was closed, once', () => {
    window.localStorage.setItem(KEY, JSON.stringify({ w: 'RUNNING' }));
    const first = make();
    // Told at first sight, of another owner's job: only a watched one is.
    first.model.show(job('w', 'SUCCEEDED', 'bob'));
    expect(first.told.map(j => j.submission_id)).toEqual(['w']);
    const reloaded = make();
    reloaded.model.show(job('w', 'SUCCEEDED', 'bob'));
    expect(reloaded.told).toEqual([]);
  });

  it('fetches jobs of interest that are not on the page', async () => {
    const getJob = jest.fn(async (id: string) => job(id, 'FAILED'));
    const { model, watcher, told } = make(getJob);
    model.show(job('mine', 'RUNNING'));
    watcher.watch('submitted-here');
    model.show(); // both fell off the page (a filter, newer jobs)
    await watcher.check();
    expect(getJob.mock.calls.map(c => c[0]).sort()).toEqual([
      'mine',
      'submitted-here'
    ]);
    expect(told.map(j => j.submission_id).sort()).toEqual([
      'mine',
      'submitted-here'
    ]);
    getJob.mockClear();
    await watcher.check();
    expect(getJob).not.toHaveBeenCalled(); // ended jobs are not fetched again
  });

  it('forgets a watched job that was deleted', async () => {
    const getJob = jest.fn(async () => {
      throw responseError(404, 'No job', 'not_found');
    });
    const { watcher, told } = make(getJob);
    watcher.watch('gone');
    await watcher.check();
    expect(JSON.parse(window.localStorage.getItem(KEY)!)).toEqual({});
    expect(told).toEqual([]);
  });

  it('takes any refresh interval from the settings', () => {
    const { watcher } = make();
    for (const ms of [10, 5_000, 600_000]) {
      expect(() => (watcher.refreshIntervalMs = ms)).not.toThrow();
    }
  });

  it('keeps the newest MAX_WATCHED watched jobs, ended ones dropped first', async () => {
    const stored: Record<string, string> = { done: 'SUCCEEDED' };
    for (let i = 0; i < MAX_WATCHED + 5; i++) {
      stored[`j${i}`] = 'RUNNING';
    }
    window.localStorage.setItem(KEY, JSON.stringify(stored));
    const { watcher, getJob } = make(
      jest.fn(async (id: string) => job(id, 'RUNNING'))
    );
    await watcher.check();
    // Only the kept running ones are fetched: 'done' went first, so that
    // MAX_WATCHED of them are left.
    const kept = getJob.mock.calls.map(c => c[0]);
    expect(kept.length).toBe(MAX_WATCHED);
    expect(kept[0]).toBe('j5'); // the oldest running ones went next
    watcher.watch('j6'); // watched again: now the newest
    watcher.watch('new');
    const saved = Object.keys(JSON.parse(window.localStorage.getItem(KEY)!));
    expect(saved.length).toBe(MAX_WATCHED);
    expect(saved).not.toContain('done');
    expect(saved.slice(-2)).toEqual(['j6', 'new']);
    expect(saved[0]).toBe('j7');
  });

  it('does not watch a job already seen ended', () => {
    const { model, watcher } = make();
    model.show(job('done', 'SUCCEEDED'));
    watcher.watch('done');
    expect(window.localStorage.getItem(KEY)).toBeNull();
  });
});

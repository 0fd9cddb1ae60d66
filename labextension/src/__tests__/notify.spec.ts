/**
 * Unit tests of the job-end notifications: the `JobWatcher` tells each
 * ending of a job of interest once (owned, watched, or kept watched across
 * a reload), nothing with the setting off or for jobs that had ended when
 * first seen; `notifyJobEnd` emits a text toast with its actions.
 *
 * @jest-environment jsdom
 */

jest.mock('@jupyterlab/application', () => ({}));
jest.mock('@jupyterlab/settingregistry', () => ({
  ISettingRegistry: { name: 'ISettingRegistry' }
}));
jest.mock('@jupyterlab/services', () =>
  jest.requireActual('./fakes').servicesStub()
);
jest.mock('@jupyterlab/apputils', () => ({
  Notification: { emit: jest.fn(() => 'toast-1') }
}));
jest.mock('../logs', () => ({ watchSettings: jest.fn() }));

import { Notification } from '@jupyterlab/apputils';
import type { CommandRegistry } from '@lumino/commands';
import { Signal } from '@lumino/signaling';

import type { JobRecord, JobStatus } from '../api/types';
import type { JobsModel } from '../models/JobsModel';
import {
  followJob,
  jobEndMessage,
  JobWatcher,
  MAX_WATCHED,
  notifyJobEnd
} from '../notify';
import { CommandIDs } from '../tokens';
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

function job(
  id: string,
  status: JobStatus,
  fields: Partial<JobRecord> = {}
): JobRecord {
  return wire<JobRecord>({
    submission_id: id,
    name: id,
    status,
    owner: 'ada',
    start_time_ms: 1_000,
    end_time_ms: status === 'RUNNING' ? null : 126_000,
    exit_code: null,
    notebook_output: null,
    ...fields
  });
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
    model.show(
      job('old', 'FAILED'),
      job('theirs', 'RUNNING', { owner: 'bob' })
    );
    model.show(
      job('old', 'FAILED'),
      job('theirs', 'SUCCEEDED', { owner: 'bob' })
    );
    expect(told).toEqual([]);
  });

  it('tells a watched job of another owner, and keeps the watch in storage', () => {
    const { model, watcher, told } = make();
    model.show(job('theirs', 'RUNNING', { owner: 'bob' }));
    watcher.watch('theirs');
    expect(JSON.parse(window.localStorage.getItem(KEY)!)).toEqual({
      theirs: 'RUNNING'
    });
    model.show(job('theirs', 'STOPPED', { owner: 'bob' }));
    expect(told.map(j => j.status)).toEqual(['STOPPED']);
    expect(watcher.watched).toEqual([]);
    expect(JSON.parse(window.localStorage.getItem(KEY)!)).toEqual({});
  });

  it('tells a watched job that ended while the Lab was closed, once', () => {
    window.localStorage.setItem(KEY, JSON.stringify({ w: 'RUNNING' }));
    const first = make();
    expect(first.watcher.watched).toEqual(['w']);
    first.model.show(job('w', 'SUCCEEDED', { owner: 'bob' }));
    expect(first.told.map(j => j.submission_id)).toEqual(['w']);
    const reloaded = make();
    reloaded.model.show(job('w', 'SUCCEEDED', { owner: 'bob' }));
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
    expect(watcher.watched).toEqual([]);
    expect(told).toEqual([]);
  });

  it('takes any refresh interval from the settings', () => {
    const { watcher } = make();
    for (const ms of [10, 5_000, 600_000]) {
      expect(() => (watcher.refreshIntervalMs = ms)).not.toThrow();
    }
  });

  it('keeps the newest MAX_WATCHED watched jobs, ended ones dropped first', () => {
    const stored: Record<string, string> = { done: 'SUCCEEDED' };
    for (let i = 0; i < MAX_WATCHED + 5; i++) {
      stored[`j${i}`] = 'RUNNING';
    }
    window.localStorage.setItem(KEY, JSON.stringify(stored));
    const { watcher } = make();
    const kept = watcher.watched;
    expect(kept.length).toBe(MAX_WATCHED);
    expect(kept).not.toContain('done');
    expect(kept[0]).toBe('j5'); // the oldest running ones went next
    watcher.watch('j6'); // watched again: now the newest
    watcher.watch('new');
    const saved = Object.keys(JSON.parse(window.localStorage.getItem(KEY)!));
    expect(saved.length).toBe(MAX_WATCHED);
    expect(saved.slice(-2)).toEqual(['j6', 'new']);
    expect(saved[0]).toBe('j7');
  });

  it('does not watch a job already seen ended', () => {
    const { model, watcher } = make();
    model.show(job('done', 'SUCCEEDED'));
    watcher.watch('done');
    expect(watcher.watched).toEqual([]);
  });
});

describe('notifyJobEnd', () => {
  const emit = Notification.emit as jest.Mock;
  const execute = jest.fn(async () => undefined);
  const commands = {
    execute,
    hasCommand: () => true
  } as unknown as CommandRegistry;

  beforeEach(() => {
    emit.mockClear();
    execute.mockClear();
  });

  it('emits a success toast with the name, status and run time as text', () => {
    notifyJobEnd(job('a', 'SUCCEEDED', { name: '<b>train</b>' }), commands);
    const [message, type, options] = emit.mock.calls[0];
    expect(message).toBe('Job "<b>train</b>" SUCCEEDED after 2m 5s');
    expect(type).toBe('success');
    expect(options.actions.map((a: { label: string }) => a.label)).toEqual([
      'Open log'
    ]);
    options.actions[0].callback();
    expect(execute).toHaveBeenCalledWith(CommandIDs.openJobLog, {
      submissionId: 'a'
    });
  });

  it('emits an error toast that stays, with "Open notebook" for a notebook job', () => {
    const failed = job('nb', 'FAILED', {
      exit_code: 1,
      notebook_output: 'runs/report-out.ipynb'
    });
    notifyJobEnd(failed, commands);
    const [message, type, options] = emit.mock.calls[0];
    expect(message).toBe('Job "nb" FAILED after 2m 5s (exit code 1)');
    expect(type).toBe('error');
    expect(options.autoClose).toBe(false);
    const labels = options.actions.map((a: { label: string }) => a.label);
    expect(labels).toEqual(['Open log', 'Open notebook']);
    options.actions[1].callback();
    expect(execute).toHaveBeenCalledWith('docmanager:open', {
      path: 'runs/report-out.ipynb'
    });
  });

  it('makes a STOPPED job a warning and cuts a long name', () => {
    notifyJobEnd(job('s', 'STOPPED', { name: 'x'.repeat(100) }), commands);
    expect(emit.mock.calls[0][1]).toBe('warning');
    expect(jobEndMessage(job('s', 'STOPPED', { name: 'x'.repeat(100) }))).toBe(
      `Job "${'x'.repeat(59)}…" STOPPED after 2m 5s`
    );
  });

  it('followJob watches the job and opens its log only where they exist', async () => {
    await followJob(commands, 'j1');
    expect(execute).toHaveBeenCalledWith(CommandIDs.watchJob, {
      submissionId: 'j1'
    });
    expect(execute).toHaveBeenCalledWith(CommandIDs.openJobLog, {
      submissionId: 'j1'
    });
    execute.mockClear();
    const without = { execute, hasCommand: () => false };
    await followJob(without as unknown as CommandRegistry, 'j2');
    expect(execute).not.toHaveBeenCalled();
  });
});

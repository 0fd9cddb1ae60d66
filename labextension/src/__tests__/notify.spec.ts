/**
 * Unit tests of the job-end notifications: `notifyJobEnd` emits a text
 * toast with its actions; `followJob` watches a job and opens its log.
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

import type { JobRecord, JobStatus } from '../api/types';
import { followJob, jobEndMessage, notifyJobEnd } from '../notify';
import { CommandIDs } from '../tokens';
import { wire } from './fakes';

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

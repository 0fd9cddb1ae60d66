/**
 * @jest-environment jsdom
 */

/**
 * Unit tests of the jobs section: rows, hostile text, per-status buttons,
 * confirmations, filter and paging, with canned REST responses.
 */

jest.mock('@jupyterlab/services', () =>
  jest.requireActual('./fakes').servicesStub()
);
jest.mock('@jupyterlab/apputils', () =>
  jest.requireActual('./fakes').apputilsStub()
);
jest.mock('../api/request', () => ({
  ...jest.requireActual('../api/request'),
  requestAPI: jest.fn()
}));

import { showDialog, showErrorMessage } from '@jupyterlab/apputils';
import { ServerConnection } from '@jupyterlab/services';
import { CommandRegistry } from '@lumino/commands';

import { JobsService } from '../api/services';
import { requestAPI } from '../api/request';
import type { JobPage, JobRecord } from '../api/types';
import { JobsModel } from '../models/JobsModel';
import { CommandIDs } from '../tokens';
import { JobsSection } from '../widgets/JobsSection';
import {
  flush,
  IRequest,
  makeSettings,
  responseError,
  routeRequests,
  wire
} from './fakes';

const mockRequest = requestAPI as unknown as jest.Mock;
const mockShowDialog = showDialog as unknown as jest.Mock;
const mockShowError = showErrorMessage as unknown as jest.Mock;

const HOSTILE = '<img src=x onerror="window.pwned=1">';

// `name` and `command` as the server computes them (metadata name, else the
// id; the entrypoint).
const JOBS = wire<JobRecord[]>([
  {
    submission_id: 'job-running',
    name: HOSTILE,
    command: 'python train.py',
    status: 'RUNNING',
    entrypoint: 'python train.py',
    metadata: { name: HOSTILE },
    owner: 'alice',
    start_time_ms: 1714557600000
  },
  {
    submission_id: 'job-pending',
    name: 'job-pending',
    command: 'python wait.py',
    status: 'PENDING',
    entrypoint: 'python wait.py',
    pending_reason: 'Waiting for 1 GPU'
  },
  {
    submission_id: 'job-done',
    name: 'echo hi',
    command: `echo ${HOSTILE}`,
    status: 'SUCCEEDED',
    entrypoint: `echo ${HOSTILE}`,
    start_time_ms: 1714557600000,
    end_time_ms: 1714557600000 + 185_000
  },
  {
    submission_id: 'job-failed',
    name: 'echo hi',
    command: 'false',
    status: 'FAILED',
    entrypoint: 'false'
  }
]);

let section: JobsSection;
let model: JobsModel;
let commands: CommandRegistry;
let seen: IRequest[];
const executed: Array<{ id: string; args: unknown }> = [];

function answer(query: Record<string, string>): JobPage {
  if (query.limit === '1') {
    return { jobs: [], next_cursor: null, total: 1 };
  }
  if (query.cursor === 'older') {
    return { jobs: [JOBS[3]], next_cursor: null, total: 5 };
  }
  const jobs = query.status
    ? JOBS.filter(job => job.status === query.status)
    : JOBS;
  return { jobs, next_cursor: query.status ? null : 'older', total: 5 };
}

beforeEach(async () => {
  seen = routeRequests(mockRequest, {
    'GET jobs': ({ query }) => answer(query),
    'POST jobs/job-running/stop': () => ({
      submission_id: 'job-running',
      stopped: true
    }),
    'DELETE jobs/job-done': () => ({ submission_id: 'job-done', deleted: true })
  });
  executed.length = 0;
  commands = new CommandRegistry();
  for (const id of [
    CommandIDs.openJobLog,
    CommandIDs.submitJob,
    CommandIDs.watchJob
  ]) {
    commands.addCommand(id, {
      execute: args => {
        executed.push({ id, args });
      }
    });
  }
  model = new JobsModel({
    service: new JobsService({
      serverSettings: makeSettings() as unknown as ServerConnection.ISettings
    }),
    autoStart: false
  });
  section = new JobsSection({ model, commands });
  document.body.appendChild(section.node);
  await model.refresh();
});

afterEach(() => {
  section.node.remove();
  section.dispose();
  model.dispose();
  mockRequest.mockReset();
  mockShowDialog.mockReset();
  mockShowError.mockClear();
});

function row(id: string): HTMLTableRowElement {
  return section.node.querySelector(
    `tr.iog-JobsSection-row[data-submission-id="${id}"]`
  ) as HTMLTableRowElement;
}

function buttonNamed(label: string): HTMLButtonElement | null {
  return section.node.querySelector(`button[aria-label="${label}"]`);
}

describe('JobsSection', () => {
  it('is a labelled section with a heading', () => {
    expect(section.node.tagName).toBe('SECTION');
    expect(section.node.getAttribute('aria-label')).toBe('Jobs');
    expect(section.node.querySelector('h2')?.textContent).toBe('Jobs');
    expect(section.hasClass('iog-SidebarSection')).toBe(true);
  });

  it('renders one row per job with name, status, owner and start', () => {
    const rows = section.node.querySelectorAll('tr.iog-JobsSection-row');
    expect(rows).toHaveLength(4);
    const running = row('job-running');
    expect(
      running.querySelector('td.iog-JobsSection-status')?.textContent
    ).toBe('RUNNING');
    expect(
      running
        .querySelector('td.iog-JobsSection-status')
        ?.classList.contains('iog-mod-running')
    ).toBe(true);
    expect(running.cells[2].textContent).toBe('alice');
    expect(running.cells[3].textContent).toMatch(/^\d+ d ago$/);
    expect(running.cells[3].title).toMatch(/^started \S/);
    expect(row('job-pending').cells[1].title).toBe('Waiting for 1 GPU');
  });

  it("names a row by the job's name, with its command and id as details", () => {
    const names = ['job-done', 'job-failed'].map(id => {
      const cell = row(id).cells[0];
      expect(cell.querySelector('.iog-JobsSection-jobName')?.textContent).toBe(
        'echo hi'
      );
      return cell;
    });
    // Two jobs of the same name differ by their commands and ids.
    expect(
      names.map(c => c.querySelector('.iog-JobsSection-command')?.textContent)
    ).toEqual([`echo ${HOSTILE}`, 'false']);
    expect(names[1].title.split('\n').slice(0, 3)).toEqual([
      'echo hi',
      'false',
      'id job-failed · owner —'
    ]);
    // An ended job: its age, how long it ran, and the exact times as tooltip.
    const done = row('job-done').cells[3];
    expect(done.textContent).toMatch(/^\d+ d ago · ran 3m 5s$/);
    expect(done.title).toMatch(/^started .+\nended .+ after 3m 5s$/);
    expect(names[0].title).toMatch(/ · ended .+ after 3m 5s$/);
    // A running job has no duration yet.
    expect(row('job-running').cells[3].textContent).not.toContain('ran');
  });

  it('words the age of a job and, once ended, how long it ran', () => {
    const start = 1_000_000;
    const job = (fields: Partial<JobRecord>): JobRecord =>
      wire<JobRecord>({ status: 'RUNNING', start_time_ms: start, ...fields });
    expect(JobsSection.ageText(job({}), start + 2_000)).toBe('just now');
    expect(JobsSection.ageText(job({}), start + 150_000)).toBe('2 min ago');
    expect(JobsSection.ageText(job({ start_time_ms: null }))).toBe('—');
    const ended = job({ status: 'FAILED', end_time_ms: start + 45_000 });
    expect(JobsSection.ageText(ended, start + 7_200_000)).toBe(
      '2 h ago · ran 45s'
    );
    expect(JobsSection.endedText(ended)).toMatch(/^ended .+ after 45s$/);
    // A stopped job without an end time, and a running one: no duration.
    expect(JobsSection.endedText(job({ status: 'STOPPED' }))).toBe('');
    expect(JobsSection.endedText(job({ end_time_ms: start + 1 }))).toBe('');
  });

  it('shows hostile names as text, never as markup', () => {
    const name = row('job-running').querySelector('.iog-JobsSection-jobName');
    expect(name?.textContent).toBe(HOSTILE);
    expect(
      row('job-done').querySelector('.iog-JobsSection-command')?.textContent
    ).toBe(`echo ${HOSTILE}`);
    expect(section.node.querySelector('img')).toBeNull();
    expect(document.querySelector('img')).toBeNull();
  });

  it('offers stop for live jobs and delete for ended ones', () => {
    for (const id of ['job-running', 'job-pending']) {
      expect(buttonNamed(`Stop ${id}`)).not.toBeNull();
      expect(buttonNamed(`Delete ${id}`)).toBeNull();
    }
    for (const id of ['job-done', 'job-failed']) {
      expect(buttonNamed(`Delete ${id}`)).not.toBeNull();
      expect(buttonNamed(`Stop ${id}`)).toBeNull();
    }
    for (const job of JOBS) {
      expect(buttonNamed(`Show logs of ${job.submission_id}`)).not.toBeNull();
    }
  });

  it('offers "notify when it ends" for live jobs only, through iog:watch-job', async () => {
    expect(buttonNamed('Notify when job-done ends')).toBeNull();
    buttonNamed('Notify when job-running ends')?.click();
    await flush();
    expect(executed).toEqual([
      { id: CommandIDs.watchJob, args: { submissionId: 'job-running' } }
    ]);
  });

  it('stops a job only after confirmation', async () => {
    mockShowDialog.mockResolvedValueOnce({ button: { accept: false } });
    buttonNamed('Stop job-running')?.click();
    await flush();
    expect(seen.some(r => r.method === 'POST')).toBe(false);
    const options = mockShowDialog.mock.calls[0][0];
    expect(options.buttons[1].label).toBe('Stop job');

    mockShowDialog.mockResolvedValueOnce({ button: { accept: true } });
    buttonNamed('Stop job-running')?.click();
    await flush();
    expect(
      seen.some(r => r.method === 'POST' && r.path === 'jobs/job-running/stop')
    ).toBe(true);
  });

  it('deletes an ended job after confirmation', async () => {
    mockShowDialog.mockResolvedValueOnce({ button: { accept: true } });
    buttonNamed('Delete job-done')?.click();
    await flush();
    expect(mockShowDialog.mock.calls[0][0].buttons[1].label).toBe('Delete job');
    expect(
      seen.some(r => r.method === 'DELETE' && r.path === 'jobs/job-done')
    ).toBe(true);
  });

  it('shows the server message when a stop is refused', async () => {
    routeRequests(mockRequest, {
      'GET jobs': ({ query }) => answer(query),
      'POST jobs/job-pending/stop': () => {
        throw responseError(403, 'Only alice may stop job-pending.');
      }
    });
    mockShowDialog.mockResolvedValueOnce({ button: { accept: true } });
    buttonNamed('Stop job-pending')?.click();
    await flush();
    expect(mockShowError).toHaveBeenCalledWith(
      'Stopping the job failed',
      'Only alice may stop job-pending.'
    );
  });

  it('opens logs and the submit dialog through the commands', async () => {
    buttonNamed('Show logs of job-done')?.click();
    const submit = Array.from(section.node.querySelectorAll('button')).find(
      b => b.textContent === 'Submit job'
    );
    submit?.click();
    await flush();
    expect(executed).toEqual([
      { id: CommandIDs.openJobLog, args: { submissionId: 'job-done' } },
      { id: CommandIDs.submitJob, args: {} }
    ]);
  });

  it('filters by status through the select', async () => {
    const select = section.node.querySelector(
      'select[aria-label="Filter jobs by status"]'
    ) as HTMLSelectElement;
    expect(Array.from(select.options).map(o => o.textContent)).toEqual([
      'All',
      'PENDING',
      'RUNNING',
      'SUCCEEDED',
      'FAILED',
      'STOPPED'
    ]);
    select.value = 'FAILED';
    select.dispatchEvent(new Event('change'));
    await flush();

    expect(model.statusFilter).toBe('FAILED');
    expect(seen.some(r => r.query.status === 'FAILED')).toBe(true);
    expect(
      section.node.querySelectorAll('tr.iog-JobsSection-row')
    ).toHaveLength(1);
    expect(row('job-failed')).not.toBeNull();
  });

  it('pages with Newer and Older', async () => {
    const newer = section.node.querySelector(
      'button.iog-JobsSection-newer'
    ) as HTMLButtonElement;
    const older = section.node.querySelector(
      'button.iog-JobsSection-older'
    ) as HTMLButtonElement;
    expect(newer.textContent).toBe('Newer');
    expect(older.textContent).toBe('Older');
    expect(newer.disabled).toBe(true);
    expect(older.disabled).toBe(false);

    older.click();
    await flush();
    expect(seen.some(r => r.query.cursor === 'older')).toBe(true);
    expect(
      section.node.querySelectorAll('tr.iog-JobsSection-row')
    ).toHaveLength(1);
    expect(newer.disabled).toBe(false);
    expect(older.disabled).toBe(true);

    newer.click();
    await flush();
    expect(
      section.node.querySelectorAll('tr.iog-JobsSection-row')
    ).toHaveLength(4);
  });

  it('keeps row elements across refreshes and updates them in place', async () => {
    const before = row('job-running');
    routeRequests(mockRequest, {
      'GET jobs': ({ query }) =>
        query.limit === '1'
          ? { jobs: [], next_cursor: null, total: 0 }
          : {
              jobs: [{ ...JOBS[0], status: 'STOPPED' }, JOBS[2]],
              next_cursor: null,
              total: 2
            }
    });
    await model.refresh();
    const after = row('job-running');
    expect(after).toBe(before);
    expect(after.cells[1].textContent).toBe('STOPPED');
    expect(after.cells[1].classList.contains('iog-mod-stopped')).toBe(true);
    expect(buttonNamed('Delete job-running')).not.toBeNull();
    expect(buttonNamed('Stop job-running')).toBeNull();
    expect(row('job-pending')).toBeNull();
  });

  it('shows why the jobs could not be loaded', async () => {
    routeRequests(mockRequest, {
      'GET jobs': () => {
        throw responseError(503, 'The jobs backend (Ray) is unreachable.');
      }
    });
    await model.refresh();
    const error = section.node.querySelector(
      '.iog-SidebarSection-error'
    ) as HTMLElement;
    expect(error.hidden).toBe(false);
    expect(error.textContent).toContain(
      'The jobs backend (Ray) is unreachable.'
    );
    // The last page stays visible.
    expect(
      section.node.querySelectorAll('tr.iog-JobsSection-row')
    ).toHaveLength(4);
  });

  it('collapses and expands from its heading', () => {
    const toggle = section.node.querySelector('h2 button') as HTMLButtonElement;
    expect(toggle.getAttribute('aria-expanded')).toBe('true');
    toggle.click();
    expect(section.expanded).toBe(false);
    expect(toggle.getAttribute('aria-expanded')).toBe('false');
    expect(
      (section.node.querySelector('.iog-SidebarSection-body') as HTMLElement)
        .hidden
    ).toBe(true);
  });
});

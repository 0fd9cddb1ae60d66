/**
 * @jest-environment jsdom
 */

/**
 * Unit tests of the usage section and its model: the request per window
 * and grouping, rows as text with their tooltip, the note behind its
 * toggle, the empty state, and polling only while expanded.
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
import { UsageService } from '../api/services';
import type { UsageReport } from '../api/types';
import { UsageModel } from '../models/UsageModel';
import { UsageSection } from '../widgets/UsageSection';
import { flush, IRequest, makeSettings, routeRequests, wire } from './fakes';

const mockRequest = requestAPI as unknown as jest.Mock;
const HOSTILE = '<img src=x onerror=alert(1)>.ipynb';
const HOUR_MS = 3600 * 1000;

/** A report as the server sends it for `group_by`. */
function report(groupBy: string, rows: unknown[] = []): UsageReport {
  return wire<UsageReport>({
    since_ms: 0,
    until_ms: HOUR_MS,
    group_by: groupBy as UsageReport['group_by'],
    sample_interval_s: 5,
    kept_since_ms: null,
    note: `Integrated from samples; ${HOSTILE}`,
    rows: rows as UsageReport['rows']
  });
}

const GPU_ROW = {
  key: '02000000',
  label: HOSTILE,
  user: 'ada',
  kind: 'notebook',
  gpu_seconds: 4 * 6 * 3600,
  cpu_seconds: 2 * 3600,
  held_seconds: 6 * 3600,
  max_gpus: 4,
  gpu_utilization_percent: 12,
  first_seen_ms: 0,
  last_seen_ms: HOUR_MS,
  summary: 'held 4 GPUs for 6.0 h, used 12 %'
};

describe('UsageSection', () => {
  let model: UsageModel;
  let seen: IRequest[];

  beforeEach(() => {
    seen = routeRequests(mockRequest, {
      'GET usage': request =>
        report(
          request.query.group_by,
          request.query.group_by === 'session' ? [GPU_ROW] : []
        )
    });
    model = new UsageModel({
      service: new UsageService({
        serverSettings: makeSettings() as unknown as ServerConnection.ISettings
      })
    });
  });

  afterEach(() => {
    model.dispose();
    mockRequest.mockReset();
  });

  it('asks for the chosen window and grouping; rows are text', async () => {
    const section = new UsageSection({ model });
    await flush();
    // Expanded: it fetched the defaults, the last 24 h by user.
    expect(seen.map(r => r.query)).toEqual([
      { since: '24h', group_by: 'user' }
    ]);
    const empty = section.node.querySelector(
      '.iog-SidebarSection-empty'
    ) as HTMLElement;
    expect(empty.hidden).toBe(false);
    expect(empty.textContent).toBe('Nothing held in the last 24 h.');

    const [windowPicker, groupPicker] = Array.from(
      section.node.querySelectorAll('select')
    );
    expect(windowPicker.getAttribute('aria-label')).toBe('Window');
    expect(Array.from(windowPicker.options).map(o => o.text)).toEqual([
      '1 h',
      '24 h',
      '7 d'
    ]);
    windowPicker.value = '7d';
    windowPicker.dispatchEvent(new Event('change'));
    groupPicker.value = 'session';
    groupPicker.dispatchEvent(new Event('change'));
    await flush();
    expect(seen[seen.length - 1].query).toEqual({
      since: '7d',
      group_by: 'session'
    });

    const rows = section.node.querySelectorAll('tr.iog-UsageSection-row');
    expect(rows).toHaveLength(1);
    const row = rows[0] as HTMLTableRowElement;
    expect(row.getAttribute('data-usage-key')).toBe('02000000');
    expect(row.cells[0].textContent).toBe(HOSTILE);
    expect(row.cells[1].textContent).toBe('held 4 GPUs for 6.0 h, used 12 %');
    expect(row.classList.contains('iog-mod-gpu')).toBe(true);
    expect(section.node.querySelector('img')).toBeNull();
    const tooltip = row.title.split('\n');
    expect(tooltip[0]).toBe(`${HOSTILE} (02000000)`);
    expect(tooltip).toContain('user ada');
    expect(tooltip).toContain('2.00 CPU-h, 24.00 GPU-h');
    expect(tooltip).toContain('at most 4 GPUs at once');
    expect(tooltip.some(line => line.startsWith('first seen '))).toBe(true);
    expect(tooltip.some(line => line.startsWith('last seen '))).toBe(true);
    expect(empty.hidden).toBe(true);
    section.dispose();
  });

  it('shows the note, as text, behind its toggle', async () => {
    const section = new UsageSection({ model });
    await flush();
    const info = section.node.querySelector(
      '.iog-UsageSection-info'
    ) as HTMLButtonElement;
    const note = section.node.querySelector(
      '.iog-UsageSection-note'
    ) as HTMLElement;
    expect(note.hidden).toBe(true);
    expect(info.getAttribute('aria-expanded')).toBe('false');
    info.click();
    expect(note.hidden).toBe(false);
    expect(info.getAttribute('aria-expanded')).toBe('true');
    expect(note.textContent).toBe(
      `Integrated from samples; ${HOSTILE} Samples every 5 s.`
    );
    expect(note.querySelector('img')).toBeNull();
    section.dispose();
  });

  it('fetches only while expanded, and not stale rows of another choice', async () => {
    const section = new UsageSection({ model, expanded: false });
    await flush();
    expect(seen).toHaveLength(0);
    expect(model.active).toBe(false);
    section.expanded = true;
    await flush();
    expect(seen).toHaveLength(1);
    expect(model.report?.group_by).toBe('user');
    // Another grouping: the old report is not shown as its answer.
    model.groupBy = 'job';
    expect(model.report).toBeNull();
    await flush();
    expect(model.report?.group_by).toBe('job');
    section.expanded = false;
    expect(model.active).toBe(false);
    section.dispose();
  });

  it('says why it could not load', async () => {
    mockRequest.mockReset();
    routeRequests(mockRequest, {});
    const section = new UsageSection({ model });
    await flush();
    const error = section.node.querySelector(
      '.iog-SidebarSection-error'
    ) as HTMLElement;
    expect(error.hidden).toBe(false);
    expect(error.textContent).toContain('Could not load the usage');
    section.dispose();
  });
});

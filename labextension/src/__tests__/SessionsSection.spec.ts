/**
 * @jest-environment jsdom
 */

/**
 * Unit tests of the sessions section and its model: rows, idle warning,
 * release with confirmation.
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

import { requestAPI } from '../api/request';
import { SessionsService } from '../api/services';
import type { SessionList } from '../api/types';
import { SessionsModel } from '../models/SessionsModel';
import { SessionsSection } from '../widgets/SessionsSection';
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
const HOSTILE = '<img src=x onerror=alert(1)>.ipynb';

const LIST = wire<SessionList>({
  policy: { enabled: true, warn_after_s: 1800, release_after_s: 3600 },
  sessions: [
    {
      session_id: '01000000',
      kind: 'notebook',
      driver_pid: 10,
      notebook_path: `work/${HOSTILE}`,
      label: HOSTILE,
      namespace: 'ns',
      internal: false,
      resources: { CPU: 2, GPU: 1 },
      actors: 3,
      detached_actors: 1,
      idle_s: 2000,
      policy: { state: 'warned', message: 'Idle for 33m; released in 27m.' }
    },
    {
      session_id: '02000000',
      kind: 'script',
      driver_pid: 11,
      owner: 'bob',
      label: 'script (pid 11)',
      namespace: 'ns',
      internal: false,
      resources: {},
      actors: 0,
      idle_s: null,
      policy: { state: 'not_applicable' }
    },
    {
      // Ray's dashboard driver, as the server lists it with ?internal=true.
      session_id: '03000000',
      kind: 'script',
      driver_pid: 12,
      label: 'script (pid 12)',
      namespace: '_ray_internal_dashboard',
      internal: true,
      resources: {},
      actors: 1,
      idle_s: null,
      policy: { state: 'not_applicable' }
    }
  ]
});

let model: SessionsModel;
let section: SessionsSection;
let seen: IRequest[];

beforeEach(async () => {
  seen = routeRequests(mockRequest, {
    'GET sessions': () => LIST,
    'POST sessions/01000000/release': () => ({
      session_id: '01000000',
      killed_actors: ['a'],
      cancelled_tasks: 0,
      errors: []
    })
  });
  model = new SessionsModel({
    service: new SessionsService({
      serverSettings: makeSettings() as unknown as ServerConnection.ISettings
    }),
    autoStart: false
  });
  section = new SessionsSection({ model });
  await model.refresh();
});

afterEach(() => {
  section.dispose();
  model.dispose();
  mockRequest.mockReset();
  mockShowDialog.mockReset();
  mockShowError.mockClear();
});

function row(id: string): HTMLTableRowElement {
  return section.node.querySelector(
    `tr.iog-SessionsSection-row[data-session-id="${id}"]`
  ) as HTMLTableRowElement;
}

describe('SessionsSection', () => {
  it('renders one row per session', () => {
    expect(section.node.getAttribute('aria-label')).toBe('Sessions');
    expect(
      section.node.querySelectorAll('tr.iog-SessionsSection-row')
    ).toHaveLength(3);
    const first = row('01000000');
    expect(first.querySelector('.iog-SessionsSection-path')?.textContent).toBe(
      HOSTILE
    );
    expect(first.cells[0].title.split('\n').slice(0, 3)).toEqual([
      HOSTILE,
      `work/${HOSTILE}`,
      'session 01000000'
    ]);
    expect(
      first.querySelector('td.iog-SessionsSection-held')?.textContent
    ).toBe('2 CPU · 1 GPU');
    expect(
      first.querySelector('td.iog-SessionsSection-actors')?.textContent
    ).toBe('3 actors · 1 detached');
    expect(
      row('03000000').querySelector('td.iog-SessionsSection-actors')
        ?.textContent
    ).toBe('1 actor');
    expect(
      first.querySelector('td.iog-SessionsSection-idle')?.textContent
    ).toBe('33m 20s');
    expect(
      row('02000000').querySelector('.iog-SessionsSection-path')?.textContent
    ).toBe('script (pid 11)');
    expect(section.node.querySelector('img')).toBeNull();
    expect(
      section.node.querySelector('.iog-SessionsSection-policy')?.textContent
    ).toBe('Idle policy: warns after 30m 0s idle, releases after 1h 0m.');
  });

  it("never offers Release for Ray's own drivers", () => {
    expect(row('02000000').querySelector('button')?.textContent).toBe(
      'Release'
    );
    const internal = row('03000000');
    expect(internal.querySelector('button')).toBeNull();
    expect(internal.cells[0].title).toContain(
      'namespace _ray_internal_dashboard'
    );
  });

  it('flags idle sessions with a warning', () => {
    const idle = row('01000000');
    expect(idle.classList.contains('iog-mod-idle')).toBe(true);
    const warning = idle.querySelector(
      '.iog-SessionsSection-warning'
    ) as HTMLElement;
    expect(warning.hidden).toBe(false);
    expect(warning.textContent).toBe('Idle for 33m; released in 27m.');
    const other = row('02000000');
    expect(other.classList.contains('iog-mod-idle')).toBe(false);
    expect(
      (other.querySelector('.iog-SessionsSection-warning') as HTMLElement)
        .hidden
    ).toBe(true);
  });

  it('releases after confirmation', async () => {
    const release = section.node.querySelector(
      'button[aria-label="Release 01000000"]'
    ) as HTMLButtonElement;
    mockShowDialog.mockResolvedValueOnce({ button: { accept: false } });
    release.click();
    await flush();
    expect(seen.some(r => r.method === 'POST')).toBe(false);

    mockShowDialog.mockResolvedValueOnce({ button: { accept: true } });
    release.click();
    await flush();
    expect(mockShowDialog.mock.calls[1][0].buttons[1].label).toBe('Release');
    expect(
      seen.some(
        r => r.method === 'POST' && r.path === 'sessions/01000000/release'
      )
    ).toBe(true);
    expect(mockShowError).not.toHaveBeenCalled();
  });

  it('shows a refused release', async () => {
    routeRequests(mockRequest, {
      'POST sessions/02000000/release': () => {
        throw responseError(403, 'This driver is not a kernel of this server.');
      }
    });
    mockShowDialog.mockResolvedValueOnce({ button: { accept: true } });
    (
      section.node.querySelector(
        'button[aria-label="Release 02000000"]'
      ) as HTMLButtonElement
    ).click();
    await flush();
    expect(mockShowError).toHaveBeenCalledWith(
      'Release failed',
      'This driver is not a kernel of this server.'
    );
  });
});

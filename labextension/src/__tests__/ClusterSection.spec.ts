/**
 * @jest-environment jsdom
 */

/**
 * Unit tests of the cluster section, the connection banner and the sidebar
 * that holds them, fed by a cluster model on a fake websocket.
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

import { ServerConnection } from '@jupyterlab/services';
import { CommandRegistry } from '@lumino/commands';

import {
  ActorsService,
  JobsService,
  SessionsService,
  StatusService
} from '../api/services';
import { requestAPI } from '../api/request';
import type { ClusterSnapshot } from '../api/types';
import { ActorsModel } from '../models/ActorsModel';
import { ClusterModel } from '../models/ClusterModel';
import { JobsModel } from '../models/JobsModel';
import { SessionsModel } from '../models/SessionsModel';
import { CommandIDs } from '../tokens';
import { ClusterSection } from '../widgets/ClusterSection';
import { ConnectionBanner } from '../widgets/ConnectionBanner';
import { RaySidebar } from '../widgets/RaySidebar';
import {
  FakeWebSocket,
  makeSettings,
  routeRequests,
  sockets,
  wire
} from './fakes';

const mockRequest = requestAPI as unknown as jest.Mock;
const GIB = 1024 ** 3;
const HOSTILE = '<img src=x onerror=alert(1)>';

const SNAPSHOT = wire<ClusterSnapshot>({
  timestamp: '2024-05-01T10:00:00Z',
  timestamp_ms: 1714557600000,
  totals: {
    CPU: 8,
    GPU: 2,
    memory: 16 * GIB,
    object_store_memory: 4.3 * GIB,
    [HOSTILE]: 1
  },
  available: {
    CPU: 7.5,
    GPU: 0.25,
    memory: 12.8 * GIB,
    object_store_memory: 4.3 * GIB,
    [HOSTILE]: 1
  },
  nodes: [
    {
      node_id: 'a',
      state: 'ACTIVE',
      pool: 'default',
      resources_total: {},
      resources_available: {}
    },
    {
      node_id: 'b',
      state: 'IDLE',
      pool: 'train',
      resources_total: {},
      resources_available: {}
    },
    {
      node_id: 'c',
      state: 'IDLE',
      pool: 'train',
      resources_total: {},
      resources_available: {}
    },
    {
      node_id: 'd',
      state: 'DEAD',
      pool: 'train',
      resources_total: {},
      resources_available: {}
    },
    {
      node_id: 'e',
      state: 'PENDING',
      pool: 'train',
      resources_total: {},
      resources_available: {}
    }
  ],
  pools: [
    {
      name: 'default',
      num_nodes: 1,
      totals: { CPU: 4 },
      available: { CPU: 4 }
    },
    {
      name: 'train',
      num_nodes: 2,
      totals: { CPU: 4, GPU: 2 },
      available: { CPU: 3.5, GPU: 0.25 }
    },
    { name: HOSTILE, num_nodes: 0, totals: {}, available: {} }
  ],
  pending_demands: [
    {
      bundle: { GPU: 1, CPU: 1 },
      count: 2,
      kind: 'task_actor',
      waiting: '2 tasks, actors or job drivers',
      pool: 'train',
      reason: HOSTILE
    }
  ],
  infeasible_demands: [
    {
      bundle: { GPU: 8 },
      count: 1,
      kind: 'placement_group',
      waiting: '1 placement group'
    }
  ]
});

let model: ClusterModel;
let socket: FakeWebSocket;

beforeEach(() => {
  sockets.length = 0;
  model = new ClusterModel({
    service: new StatusService({
      serverSettings: makeSettings() as unknown as ServerConnection.ISettings
    })
  });
  socket = sockets[0];
  socket.open();
});

afterEach(() => {
  model.dispose();
  mockRequest.mockReset();
});

function cells(section: ClusterSection, resource: string): string[] {
  const row = section.node.querySelector(
    `table.iog-ClusterSection-resources tr[data-resource="${resource}"]`
  );
  return ['used', 'free', 'total'].map(
    name =>
      row?.querySelector(`td.iog-ClusterSection-${name}`)?.textContent ?? '?'
  );
}

describe('ClusterSection', () => {
  it('waits for the first snapshot', () => {
    const section = new ClusterSection({ model });
    expect(section.node.getAttribute('aria-label')).toBe('Cluster');
    expect(section.node.querySelector('h2')?.textContent).toBe('Cluster');
    const empty = section.node.querySelector(
      '.iog-SidebarSection-empty'
    ) as HTMLElement;
    expect(empty.hidden).toBe(false);
    section.dispose();
  });

  it('renders used, free and total per resource', () => {
    const section = new ClusterSection({ model });
    socket.receive({ type: 'snapshot', data: SNAPSHOT });

    expect(cells(section, 'CPU')).toEqual(['0.5', '7.5', '8']);
    expect(cells(section, 'GPU')).toEqual(['1.8', '0.3', '2']);
    expect(cells(section, 'memory')).toEqual(['3.2', '12.8', '16.0']);
    expect(cells(section, 'object_store_memory')).toEqual([
      '0.0',
      '4.3',
      '4.3'
    ]);
    const rows = section.node.querySelectorAll('tr[data-resource]');
    expect(Array.from(rows).map(r => r.getAttribute('data-resource'))).toEqual([
      'CPU',
      'GPU',
      'memory',
      'object_store_memory',
      HOSTILE
    ]);
    section.dispose();
  });

  it('counts alive nodes and lists pools and demands as text', () => {
    const section = new ClusterSection({ model });
    socket.receive({ type: 'snapshot', data: SNAPSHOT });

    expect(
      section.node.querySelector('span.iog-ClusterSection-nodes')?.textContent
    ).toBe('3 nodes');
    const train = section.node.querySelector(
      'ul.iog-ClusterSection-pools > li[data-pool="train"]'
    );
    expect(train?.textContent).toBe(
      'train: 2 nodes · CPU 3.5/4 · GPU 0.3/2 free'
    );
    expect(
      section.node.querySelectorAll('ul.iog-ClusterSection-pools > li')
    ).toHaveLength(3);
    const pending = section.node.querySelectorAll(
      'ul.iog-ClusterSection-pending > li'
    );
    expect(pending).toHaveLength(1);
    expect(pending[0].textContent).toBe(
      '2 tasks, actors or job drivers waiting for 1 CPU, 1 GPU each in ' +
        `pool train: ${HOSTILE}`
    );
    const infeasible = section.node.querySelectorAll(
      'ul.iog-ClusterSection-infeasible > li'
    );
    expect(infeasible).toHaveLength(1);
    expect(infeasible[0].textContent).toBe(
      '1 placement group waiting for 8 GPU'
    );
    expect(section.node.querySelector('img')).toBeNull();
    section.dispose();
  });

  it('sends a refresh over the socket from its button', () => {
    const section = new ClusterSection({ model });
    (
      section.node.querySelector(
        'button[aria-label="Refresh cluster"]'
      ) as HTMLButtonElement
    ).click();
    expect(socket.sent).toEqual([{ type: 'refresh' }]);
    section.dispose();
  });

  it('shows the dashboard button only when that command exists', () => {
    const commands = new CommandRegistry();
    const section = new ClusterSection({ model, commands });
    const dashboard = section.node.querySelector(
      'button[aria-label="Open Ray dashboard"]'
    ) as HTMLButtonElement;
    expect(dashboard.hidden).toBe(true);
    const execute = jest.fn();
    commands.addCommand(CommandIDs.openDashboard, { execute });
    expect(dashboard.hidden).toBe(false);
    dashboard.click();
    expect(execute).toHaveBeenCalled();
    section.dispose();
  });
});

describe('ConnectionBanner', () => {
  it('follows the cluster model and clears by itself', () => {
    const banner = new ConnectionBanner({ model });
    expect(banner.node.getAttribute('role')).toBe('status');
    expect(banner.hasClass('iog-ConnectionBanner')).toBe(true);
    expect(banner.node.dataset.state).toBe('connecting');

    socket.receive({ type: 'snapshot', data: SNAPSHOT });
    expect(banner.node.dataset.state).toBe('connected');

    socket.receive({
      type: 'status',
      connected: false,
      message: `Ray is not reachable at 127.0.0.1:6379. ${HOSTILE}`
    });
    expect(banner.node.dataset.state).toBe('disconnected');
    expect(banner.text).toBe(
      `Disconnected: Ray is not reachable at 127.0.0.1:6379. ${HOSTILE}`
    );
    expect(banner.node.querySelector('img')).toBeNull();

    socket.receive({ type: 'status', connected: true, message: null });
    expect(banner.node.dataset.state).toBe('connected');
    expect(banner.text).not.toContain('Disconnected');
    banner.dispose();
  });
});

describe('RaySidebar', () => {
  it('holds the banner and four labelled sections, expanded per setting', () => {
    routeRequests(mockRequest, {});
    const settings = makeSettings() as unknown as ServerConnection.ISettings;
    const jobs = new JobsModel({
      service: new JobsService({ serverSettings: settings }),
      autoStart: false
    });
    const sessions = new SessionsModel({
      service: new SessionsService({ serverSettings: settings }),
      autoStart: false
    });
    const actors = new ActorsModel({
      service: new ActorsService({ serverSettings: settings }),
      autoStart: false
    });
    const sidebar = new RaySidebar({
      cluster: model,
      jobs,
      sessions,
      actors,
      commands: new CommandRegistry(),
      expanded: ['jobs', 'actors'],
      disposeWithSidebar: [jobs, sessions, actors]
    });

    expect(sidebar.id).toBe('iog-sidebar');
    expect(sidebar.hasClass('iog-Sidebar')).toBe(true);
    expect(sidebar.title.caption).toBe('Ray cluster');
    expect(sidebar.title.label).toBe('Ray');
    const node = sidebar.node;
    expect(
      node.firstElementChild?.classList.contains('iog-ConnectionBanner')
    ).toBe(true);
    const sections = Array.from(
      node.querySelectorAll('section.iog-SidebarSection')
    );
    expect(sections.map(s => s.getAttribute('aria-label'))).toEqual([
      'Cluster',
      'Jobs',
      'Sessions',
      'Actors'
    ]);
    expect(sections.map(s => s.querySelector('h2')?.textContent)).toEqual([
      'Cluster',
      'Jobs',
      'Sessions',
      'Actors'
    ]);
    expect(sidebar.sections.map(s => s.expanded)).toEqual([
      false,
      true,
      false,
      true
    ]);

    sidebar.setExpandedSections(['cluster']);
    expect(sidebar.sections.map(s => s.expanded)).toEqual([
      true,
      false,
      false,
      false
    ]);

    sidebar.dispose();
    expect(jobs.isDisposed && sessions.isDisposed && actors.isDisposed).toBe(
      true
    );
  });
});

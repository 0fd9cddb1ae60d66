/**
 * @jest-environment jsdom
 */

/**
 * Unit tests of the actors section and its model: query, rows, kill with
 * confirmation, protected actors.
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

import { showDialog } from '@jupyterlab/apputils';
import { ServerConnection } from '@jupyterlab/services';

import { ActorsService } from '../api/services';
import { requestAPI } from '../api/request';
import type { ActorPage } from '../api/types';
import { ActorsModel } from '../models/ActorsModel';
import { ActorsSection } from '../widgets/ActorsSection';
import { flush, IRequest, makeSettings, routeRequests, wire } from './fakes';

const mockRequest = requestAPI as unknown as jest.Mock;
const mockShowDialog = showDialog as unknown as jest.Mock;
const HOSTILE = '<img src=x onerror=alert(1)>';

const PAGE = wire<ActorPage>({
  actors: [
    {
      namespace: 'team a',
      name: 'cache/1',
      actor_id: 'aa',
      state: 'ALIVE',
      detached: true,
      owner: HOSTILE,
      ttl_s: 3600,
      expires_ms: 1714561200000
    },
    {
      namespace: 'serve',
      name: 'controller',
      actor_id: 'bb',
      state: 'ALIVE',
      detached: true,
      ttl_s: null,
      protected: true
    }
  ],
  next_cursor: null,
  total: 2
});

let model: ActorsModel;
let section: ActorsSection;
let seen: IRequest[];

beforeEach(async () => {
  seen = routeRequests(mockRequest, {
    'GET actors': () => PAGE,
    'DELETE actors/team%20a/cache%2F1': () => ({
      namespace: 'team a',
      name: 'cache/1',
      killed: true
    })
  });
  model = new ActorsModel({
    service: new ActorsService({
      serverSettings: makeSettings() as unknown as ServerConnection.ISettings
    }),
    autoStart: false
  });
  section = new ActorsSection({ model });
  await model.refresh();
});

afterEach(() => {
  section.dispose();
  model.dispose();
  mockRequest.mockReset();
  mockShowDialog.mockReset();
});

describe('ActorsSection', () => {
  it('lists live detached actors by default', () => {
    expect(seen[0].query).toEqual({
      detached: 'true',
      state: 'DEPENDENCIES_UNREADY,PENDING_CREATION,ALIVE,RESTARTING',
      limit: '50'
    });
  });

  it('renders one row per actor, text only', () => {
    expect(section.node.getAttribute('aria-label')).toBe('Actors');
    const rows = section.node.querySelectorAll('tr.iog-ActorsSection-row');
    expect(Array.from(rows).map(r => r.getAttribute('data-actor'))).toEqual([
      'team a/cache/1',
      'serve/controller'
    ]);
    const first = rows[0] as HTMLTableRowElement;
    expect(
      Array.from(first.cells)
        .map(c => c.textContent)
        .slice(0, 4)
    ).toEqual(['cache/1', 'team a', 'ALIVE', HOSTILE]);
    expect(first.cells[2].classList.contains('iog-mod-alive')).toBe(true);
    expect(first.cells[4].title).toBe('TTL 1h 0m');
    expect((rows[1] as HTMLTableRowElement).cells[4].textContent).toBe('never');
    expect(section.node.querySelector('img')).toBeNull();
  });

  it('kills after confirmation, with encoded path segments', async () => {
    const kill = section.node.querySelector(
      'button[aria-label="Kill team a/cache/1"]'
    ) as HTMLButtonElement;
    mockShowDialog.mockResolvedValueOnce({ button: { accept: true } });
    kill.click();
    await flush();
    expect(mockShowDialog.mock.calls[0][0].buttons[1].label).toBe('Kill actor');
    expect(
      seen.some(
        r => r.method === 'DELETE' && r.path === 'actors/team%20a/cache%2F1'
      )
    ).toBe(true);
  });

  it('disables kill for protected actors', () => {
    const kill = section.node.querySelector(
      'button[aria-label="Kill serve/controller"]'
    ) as HTMLButtonElement;
    expect(kill.disabled).toBe(true);
  });

  it('filters by namespace', async () => {
    const input = section.node.querySelector(
      'input[aria-label="Filter actors by namespace"]'
    ) as HTMLInputElement;
    input.value = ' serve ';
    input.dispatchEvent(new Event('change'));
    await flush();
    expect(seen[seen.length - 1].query.namespace).toBe('serve');
    expect(model.namespace).toBe('serve');
  });
});

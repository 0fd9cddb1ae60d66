/**
 * Unit tests of the job log model and panel: live lines, resume by byte
 * offset without duplicates, the line bound, "Load earlier", hostile text.
 *
 * @jest-environment jsdom
 */

jest.mock('@jupyterlab/services', () =>
  jest.requireActual('./fakes').servicesStub()
);
jest.mock('../api/request', () => ({
  ...jest.requireActual('../api/request'),
  requestAPI: jest.fn()
}));

import { LogsService } from '../api/LogsService';
import { requestAPI } from '../api/request';
import { JobLogModel } from '../models/JobLogModel';
import { DashboardPanel } from '../widgets/DashboardPanel';
import { JobLogPanel } from '../widgets/JobLogPanel';
import { FakeWebSocket, makeSettings, routeRequests, sockets } from './fakes';

const request = requestAPI as jest.Mock;

function service(): LogsService {
  return new LogsService({
    serverSettings:
      makeSettings() as unknown as LogsService.IOptions['serverSettings']
  });
}

function lastSocket(): FakeWebSocket {
  return sockets[sockets.length - 1];
}

function log(ws: FakeWebSocket, offset: number, text: string): number {
  const next = offset + new TextEncoder().encode(text).length;
  ws.receive({ type: 'log', offset, next_offset: next, text });
  return next;
}

function texts(model: JobLogModel): string[] {
  return model.lines.map(line => line.segments.map(s => s.text).join(''));
}

beforeEach(() => {
  sockets.length = 0;
  request.mockReset();
  jest.useFakeTimers();
});

afterEach(() => {
  jest.useRealTimers();
});

describe('JobLogModel', () => {
  it('follows the tail, splits lines across chunks and ends with the status', () => {
    const model = new JobLogModel({
      submissionId: 'job-1',
      service: service(),
      maxLines: 100
    });
    model.start();
    const ws = lastSocket();
    expect(ws.url).toBe(
      'ws://localhost:8888/iog/api/v1/jobs/job-1/logs/tail?offset=0'
    );
    ws.open();
    expect(model.phase).toBe('following');
    let offset = log(ws, 0, 'first li');
    offset = log(ws, offset, 'ne\nsecond é\nthi');
    expect(texts(model)).toEqual(['first line', 'second é']);
    expect(model.partial?.map(s => s.text).join('')).toBe('thi');
    offset = log(ws, offset, 'rd');
    ws.receive({ type: 'status', status: 'SUCCEEDED', exit_code: 0 });
    expect(texts(model)).toEqual(['first line', 'second é', 'third']);
    expect(model.phase).toBe('ended');
    expect(model.status).toBe('SUCCEEDED');
    expect(model.exitCode).toBe(0);
    expect(ws.closed).toBe(true);
    expect(model.nextOffset).toBe(offset);
  });

  it('resumes from the last byte offset after a drop, without duplicates', () => {
    const model = new JobLogModel({
      submissionId: 'job-2',
      service: service(),
      maxLines: 100
    });
    model.start();
    const first = lastSocket();
    first.open();
    const offset = log(first, 0, 'a ü\nb\n');
    first.drop();
    expect(model.phase).toBe('reconnecting');
    jest.advanceTimersByTime(20000);
    const second = lastSocket();
    expect(second).not.toBe(first);
    expect(second.url).toContain(`offset=${offset}`);
    second.open();
    expect(model.phase).toBe('following');
    // The server resends an overlapping range: only the new bytes count.
    second.receive({
      type: 'log',
      offset: offset - 2,
      next_offset: offset + 2,
      text: 'b\nc\n'
    });
    log(second, offset + 2, 'd\n');
    expect(texts(model)).toEqual(['a ü', 'b', 'c', 'd']);
    model.dispose();
    expect(second.closed).toBe(true);
  });

  it('keeps at most maxLines and loads earlier pages by byte offset', async () => {
    const model = new JobLogModel({
      submissionId: 'job-3',
      service: service(),
      maxLines: 3,
      pageBytes: 64
    });
    model.start();
    const ws = lastSocket();
    ws.open();
    log(ws, 0, 'l0\nl1\nl2\nl3\nl4\n');
    expect(texts(model)).toEqual(['l2', 'l3', 'l4']);
    expect(model.droppedLines).toBe(2);
    expect(model.firstOffset).toBe(6);
    expect(model.hasEarlier).toBe(true);
    const seen = routeRequests(request, {
      'GET jobs/job-3/logs': () => ({
        text: 'l0\nl1\n',
        offset: 0,
        next_offset: 6,
        eof: false
      })
    });
    await expect(model.loadEarlier()).resolves.toBe(2);
    expect(seen[0].query).toEqual({ offset: '0', limit_bytes: '6' });
    expect(texts(model)).toEqual(['l0', 'l1', 'l2', 'l3', 'l4']);
    expect(model.hasEarlier).toBe(false);
  });

  it('shows a server error and stops', () => {
    const model = new JobLogModel({
      submissionId: 'gone',
      service: service(),
      maxLines: 10
    });
    model.start();
    lastSocket().open();
    lastSocket().receive({ type: 'error', message: 'Job gone was deleted.' });
    expect(model.phase).toBe('error');
    expect(model.message).toBe('Job gone was deleted.');
  });
});

describe('JobLogPanel', () => {
  it('renders hostile log text as text: only div and span elements', () => {
    const model = new JobLogModel({
      submissionId: 'xss',
      service: service(),
      maxLines: 100
    });
    const panel = new JobLogPanel({ model });
    const ws = lastSocket();
    ws.open();
    const payloads = [
      '<img src=x onerror="window.__iog_xss=1">',
      '<script>window.__iog_xss=2</script>',
      '\x1b]8;;javascript:window.__iog_xss=3\x1b\\click\x1b]8;;\x1b\\',
      '\x1b[31mred\x1b[0m'
    ];
    log(ws, 0, payloads.join('\n') + '\n');
    panel.flush();
    const node = panel.linesNode;
    const tags = new Set(
      Array.from(node.querySelectorAll('*')).map(e => e.tagName)
    );
    expect([...tags].sort()).toEqual(['DIV', 'SPAN']);
    expect(node.querySelectorAll('a, img, script').length).toBe(0);
    const lines = Array.from(
      node.querySelectorAll('.iog-JobLogPanel-line')
    ).map(e => e.textContent);
    expect(lines).toEqual([payloads[0], payloads[1], 'click', 'red']);
    expect(node.querySelector('.iog-ansi-fg-1')?.textContent).toBe('red');
    const status = panel.node.querySelector('.iog-JobLogPanel-status');
    expect(status?.getAttribute('role')).toBe('status');
    expect(status?.textContent).toBe('Following…');
    ws.receive({ type: 'status', status: 'STOPPED', exit_code: null });
    panel.flush();
    expect(status?.textContent).toContain('STOPPED');
    panel.dispose();
  });

  it('keeps the DOM bounded while 100,000 lines stream in', () => {
    const cap = 1000;
    const model = new JobLogModel({
      submissionId: 'big',
      service: service(),
      maxLines: cap
    });
    const panel = new JobLogPanel({ model });
    const ws = lastSocket();
    ws.open();
    let offset = 0;
    let n = 0;
    for (let chunk = 0; chunk < 100; chunk++) {
      let text = '';
      for (let i = 0; i < 1000; i++, n++) {
        text += `line ${n}\n`;
      }
      offset = log(ws, offset, text);
      if (chunk % 10 === 0) {
        panel.flush();
      }
    }
    panel.flush();
    const lines = panel.linesNode.querySelectorAll('.iog-JobLogPanel-line');
    expect(lines.length).toBe(cap);
    expect(lines[0].textContent).toBe(`line ${100000 - cap}`);
    expect(lines[cap - 1].textContent).toBe('line 99999');
    expect(model.droppedLines).toBe(100000 - cap);
    const earlier = panel.node.querySelector(
      '.iog-JobLogPanel-earlier'
    ) as HTMLButtonElement;
    expect(earlier.hidden).toBe(false);
    expect(earlier.textContent).toBe('Load earlier');
    panel.dispose();
  });
});

describe('DashboardPanel', () => {
  it('opens the proxy in a sandboxed frame without same-origin', () => {
    const panel = new DashboardPanel({
      baseUrl: 'http://localhost:8888/lab-base/'
    });
    const frame = panel.node.querySelector('iframe') as HTMLIFrameElement;
    expect(frame.getAttribute('src')).toBe(
      'http://localhost:8888/lab-base/iog/dashboard/'
    );
    const sandbox = frame.getAttribute('sandbox') ?? '';
    expect(sandbox.split(' ')).toContain('allow-scripts');
    expect(sandbox).not.toContain('allow-same-origin');
    expect(frame.getAttribute('referrerpolicy')).toBe('no-referrer');
  });
});

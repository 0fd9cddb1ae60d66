/**
 * Unit tests of the job log panel: hostile text stays text, the DOM stays
 * bounded while 100,000 lines stream in, updates are batched per animation
 * frame and only touch new lines, the status line, "Load earlier" and
 * "Jump to end".
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

import { ApiService, LogsService } from '../api/services';
import { requestAPI } from '../api/request';
import { JobLogModel } from '../models/JobLogModel';
import { JobLogPanel } from '../widgets/JobLogPanel';
import {
  FakeWebSocket,
  makeSettings,
  responseError,
  routeRequests,
  sockets
} from './fakes';

const request = requestAPI as jest.Mock;
const encoder = new TextEncoder();

function lastSocket(): FakeWebSocket {
  return sockets[sockets.length - 1];
}

/**
 * Send a log message as the server does and return its next offset.
 */
function log(ws: FakeWebSocket, offset: number, text: string): number {
  const next = offset + encoder.encode(text).length;
  ws.receive({ type: 'log', offset, next_offset: next, text });
  return next;
}

/**
 * A panel over a fresh model, its socket open.
 */
function openPanel(
  submissionId: string,
  maxLines = 100,
  pageBytes?: number
): { panel: JobLogPanel; ws: FakeWebSocket } {
  const service = new LogsService({
    serverSettings:
      makeSettings() as unknown as ApiService.IOptions['serverSettings']
  });
  const model = new JobLogModel({
    submissionId,
    service,
    maxLines,
    pageBytes
  });
  const panel = new JobLogPanel({ model });
  const ws = lastSocket();
  ws.open();
  return { panel, ws };
}

function lineNodes(panel: JobLogPanel): HTMLElement[] {
  return Array.from(
    panel.linesNode.querySelectorAll<HTMLElement>('.iog-JobLogPanel-line')
  );
}

function lineTexts(panel: JobLogPanel): string[] {
  return lineNodes(panel).map(node => node.textContent ?? '');
}

function statusNode(panel: JobLogPanel): HTMLElement {
  return panel.node.querySelector('.iog-JobLogPanel-status') as HTMLElement;
}

function button(panel: JobLogPanel, name: string): HTMLButtonElement {
  const found = Array.from(panel.node.querySelectorAll('button')).find(
    node => node.textContent === name
  );
  if (!found) {
    throw new Error(`No button ${name}`);
  }
  return found;
}

/**
 * Let promise callbacks run (timers are fake here).
 */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) {
    await Promise.resolve();
  }
}

beforeEach(() => {
  sockets.length = 0;
  request.mockReset();
  jest.useFakeTimers();
});

afterEach(() => {
  jest.useRealTimers();
});

describe('JobLogPanel', () => {
  it('renders hostile log text as text: only div and span elements', () => {
    const { panel, ws } = openPanel('xss');
    const payloads = [
      '<img src=x onerror="window.__iog_xss=1">',
      '<script>window.__iog_xss=2</script>',
      '\x1b]8;;javascript:window.__iog_xss=3\x1b\\click\x1b]8;;\x1b\\',
      '\x1b]8;;javascript:alert(1)\x07<b>bold?</b>\x1b]8;;\x07',
      '\x1b[31m<iframe src="javascript:1">\x1b[0m'
    ];
    log(ws, 0, payloads.join('\n') + '\n');
    panel.flush();
    const node = panel.linesNode;
    const tags = new Set(
      Array.from(node.querySelectorAll('*')).map(e => e.tagName)
    );
    expect([...tags].sort()).toEqual(['DIV', 'SPAN']);
    expect(lineTexts(panel)).toEqual([
      payloads[0],
      payloads[1],
      'click',
      '<b>bold?</b>',
      '<iframe src="javascript:1">'
    ]);
    expect(node.textContent).not.toContain('__iog_xss=3');
    expect(node.textContent).not.toContain('alert(1)');
    const red = node.querySelector('.iog-ansi-fg-1');
    expect(red?.textContent).toBe('<iframe src="javascript:1">');
    expect(red?.children).toHaveLength(0);
    expect(
      (window as unknown as Record<string, unknown>).__iog_xss
    ).toBeUndefined();
    panel.dispose();
  });

  it('batches updates into one animation frame and only appends new lines', () => {
    const { panel, ws } = openPanel('batch');
    let offset = log(ws, 0, 'one\n');
    offset = log(ws, offset, 'two\n');
    // Nothing is drawn before the frame.
    expect(lineTexts(panel)).toEqual([]);
    jest.advanceTimersByTime(50);
    expect(lineTexts(panel)).toEqual(['one', 'two']);
    const [first, second] = lineNodes(panel);
    offset = log(ws, offset, 'three\nfour\n\nsix');
    jest.advanceTimersByTime(50);
    expect(lineTexts(panel)).toEqual([
      'one',
      'two',
      'three',
      'four',
      '',
      'six'
    ]);
    // The lines already there are the same nodes, untouched.
    expect(lineNodes(panel)[0]).toBe(first);
    expect(lineNodes(panel)[1]).toBe(second);
    // The partial last line is replaced once it is complete.
    expect(lineNodes(panel)[5].classList).toContain('iog-mod-partial');
    log(ws, offset, ' done\n');
    panel.flush();
    expect(lineTexts(panel)).toEqual([
      'one',
      'two',
      'three',
      'four',
      '',
      'six done'
    ]);
    expect(panel.linesNode.querySelectorAll('.iog-mod-partial')).toHaveLength(
      0
    );
    panel.dispose();
  });

  it('drops the oldest line nodes and keeps the others', () => {
    const { panel, ws } = openPanel('ring', 4);
    const offset = log(ws, 0, 'a\nb\nc\nd\n');
    panel.flush();
    const kept = lineNodes(panel).slice(2);
    log(ws, offset, 'e\nf\n');
    panel.flush();
    expect(lineTexts(panel)).toEqual(['c', 'd', 'e', 'f']);
    expect(lineNodes(panel).slice(0, 2)).toEqual(kept);
    expect(lineNodes(panel)[0]).toBe(kept[0]);
    panel.dispose();
  });

  it('keeps the DOM bounded while 100,000 lines stream in', () => {
    const cap = 1000;
    const { panel, ws } = openPanel('big', cap);
    let offset = 0;
    let n = 0;
    let most = 0;
    for (let chunk = 0; chunk < 100; chunk++) {
      let text = '';
      for (let i = 0; i < 1000; i++, n++) {
        text += `\x1b[3${n % 8}mline ${n}\x1b[0m\n`;
      }
      // Chunks end anywhere, here in the middle of a line.
      const cut = chunk === 99 ? text.length : text.length - 3;
      offset = log(ws, offset, text.slice(0, cut));
      ws.receive({
        type: 'log',
        offset,
        next_offset: offset + 3,
        text: text.slice(cut)
      });
      offset += encoder.encode(text.slice(cut)).length;
      if (chunk % 5 === 0) {
        // Frames come less often than messages: each draws what is new.
        jest.advanceTimersByTime(16);
        most = Math.max(most, lineNodes(panel).length);
      }
    }
    panel.flush();
    const lines = lineNodes(panel);
    expect(most).toBeLessThanOrEqual(cap);
    expect(lines).toHaveLength(cap);
    expect(lines[0].textContent).toBe(`line ${100000 - cap}`);
    expect(lines[cap - 1].textContent).toBe('line 99999');
    expect(panel.model.window.firstSeq).toBe(100000 - cap);
    expect(button(panel, 'Load earlier').hidden).toBe(false);
    panel.dispose();
  });

  it('shows Following…, Reconnecting… and the final status', () => {
    const service = new LogsService({
      serverSettings:
        makeSettings() as unknown as ApiService.IOptions['serverSettings']
    });
    const model = new JobLogModel({
      submissionId: 'life',
      service,
      maxLines: 100
    });
    const panel = new JobLogPanel({ model });
    const status = statusNode(panel);
    expect(status.getAttribute('role')).toBe('status');
    expect(status.textContent).toBe('Connecting…');
    const first = lastSocket();
    first.open();
    panel.flush();
    expect(status.textContent).toBe('Following…');
    const offset = log(first, 0, 'a\nb\n');
    first.drop();
    panel.flush();
    expect(status.textContent).toBe('Reconnecting…');
    const notice = panel.node.querySelector('.iog-JobLogPanel-notice');
    expect(notice?.textContent).toContain('resuming');
    jest.advanceTimersByTime(20000);
    const second = lastSocket();
    expect(second.url).toContain(`?offset=${offset}`);
    second.open();
    // The server resumes at the offset asked for: no line twice.
    log(second, offset, 'c\n');
    panel.flush();
    expect(status.textContent).toBe('Following…');
    expect(lineTexts(panel)).toEqual(['a', 'b', 'c']);
    second.receive({
      type: 'status',
      status: 'FAILED',
      exit_code: 3,
      message: 'Job failed.'
    });
    panel.flush();
    expect(status.textContent).toMatch(/^FAILED\b/);
    expect(status.textContent).toBe('FAILED (exit code 3) — Job failed.');
    expect(status.classList).toContain('iog-mod-failed');
    expect(status.dataset.phase).toBe('ended');
    panel.dispose();
    expect(second.closed).toBe(true);
  });

  it('loads earlier lines in front and jumps back to the end', async () => {
    const full = 'l0\nl1\nl2\nl3\nl4\nl5\n';
    const seen = routeRequests(request, {
      'GET jobs/paged/logs': ({ query }) => {
        const offset = Number(query.offset);
        const end = offset + Number(query.limit_bytes);
        return {
          text: full.slice(offset, end),
          offset,
          next_offset: end,
          eof: false
        };
      }
    });
    const { panel, ws } = openPanel('paged', 3, 6);
    const earlier = button(panel, 'Load earlier');
    const end = button(panel, 'Jump to end');
    expect(earlier.hidden).toBe(true);
    expect(end.hidden).toBe(true);
    let offset = log(ws, 0, 'l0\nl1\nl2\nl3\n');
    panel.flush();
    expect(lineTexts(panel)).toEqual(['l1', 'l2', 'l3']);
    expect(earlier.hidden).toBe(false);

    earlier.click();
    await settle();
    panel.flush();
    expect(seen[0].query).toEqual({ offset: '0', limit_bytes: '3' });
    expect(lineTexts(panel)).toEqual(['l0', 'l1', 'l2']);
    expect(earlier.hidden).toBe(true);
    expect(end.hidden).toBe(false);
    expect(
      panel.node.querySelector('.iog-JobLogPanel-notice')?.textContent
    ).toBe('Showing earlier lines; newer lines are hidden.');
    // New lines wait while the window shows earlier ones.
    offset = log(ws, offset, 'l4\nl5\n');
    panel.flush();
    expect(lineTexts(panel)).toEqual(['l0', 'l1', 'l2']);

    end.click();
    await settle();
    panel.flush();
    expect(seen[1].query).toEqual({ offset: '11', limit_bytes: '7' });
    expect(lineTexts(panel)).toEqual(['l4', 'l5']);
    expect(end.hidden).toBe(true);
    expect(earlier.hidden).toBe(false);
    log(ws, offset, 'l6\n');
    panel.flush();
    expect(lineTexts(panel)).toEqual(['l4', 'l5', 'l6']);
    panel.dispose();
  });

  it("shows the server's message when a page cannot be loaded", async () => {
    routeRequests(request, {
      'GET jobs/fails/logs': () => {
        throw responseError(503, 'Ray is unreachable.');
      }
    });
    const { panel, ws } = openPanel('fails', 2);
    log(ws, 0, 'a\nb\nc\n');
    panel.flush();
    button(panel, 'Load earlier').click();
    await settle();
    const notice = panel.node.querySelector(
      '.iog-JobLogPanel-notice'
    ) as HTMLElement;
    expect(notice.textContent).toBe('Ray is unreachable.');
    expect(notice.hidden).toBe(false);
    expect(notice.classList).toContain('iog-mod-error');
    expect(lineTexts(panel)).toEqual(['b', 'c']);
    panel.dispose();
  });
});

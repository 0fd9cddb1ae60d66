/**
 * Unit tests of the job log model and its `LogTail` base: live lines split
 * across chunks, resume by byte offset without duplicates, the final status,
 * a refused tail, "Load earlier" by byte pages and "Jump to end".
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
import {
  FakeWebSocket,
  IRequest,
  makeSettings,
  responseError,
  routeRequests,
  sockets,
  windowTexts
} from './fakes';

const request = requestAPI as jest.Mock;
const encoder = new TextEncoder();

/**
 * A logs service whose sockets are `FakeWebSocket`s.
 */
function service(): LogsService {
  return new LogsService({
    serverSettings:
      makeSettings() as unknown as ApiService.IOptions['serverSettings']
  });
}

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

function texts(model: JobLogModel): string[] {
  return windowTexts(model.window);
}

/**
 * A canned `GET jobs/{id}/logs` over a log held as bytes, as the server
 * serves it: pages never end inside a character, a page that starts inside
 * one decodes the stray bytes as U+FFFD.
 */
function servePages(
  submissionId: string,
  full: string,
  maxBytes = Infinity
): IRequest[] {
  const bytes = encoder.encode(full);
  const decoder = new TextDecoder();
  return routeRequests(request, {
    [`GET jobs/${submissionId}/logs`]: ({ query }) => {
      const offset = Number(query.offset);
      const limit = Math.min(Number(query.limit_bytes), maxBytes);
      let end = Math.min(bytes.length, offset + limit);
      while (end < bytes.length && (bytes[end] & 0xc0) === 0x80) {
        end -= 1; // never end inside a character
      }
      return {
        text: decoder.decode(bytes.slice(offset, end)),
        offset,
        next_offset: end,
        eof: false
      };
    }
  });
}

/**
 * Let pending promise callbacks run (timers are fake here).
 */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) {
    await Promise.resolve();
  }
}

function newModel(
  submissionId: string,
  options: Partial<JobLogModel.IOptions> = {}
): JobLogModel {
  const model = new JobLogModel({
    submissionId,
    service: service(),
    maxLines: 100,
    ...options
  });
  model.start();
  return model;
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
    const model = newModel('job-1');
    const ws = lastSocket();
    expect(ws.url).toBe(
      'ws://localhost:8888/iog/api/v1/jobs/job-1/logs/tail?offset=0'
    );
    expect(model.phase).toBe('connecting');
    ws.open();
    expect(model.phase).toBe('following');
    let offset = log(ws, 0, 'first li');
    expect(texts(model)).toEqual([]);
    expect(model.window.partial?.map(s => s.text).join('')).toBe('first li');
    offset = log(ws, offset, 'ne\nsecond é\nthi');
    expect(texts(model)).toEqual(['first line', 'second é']);
    expect(model.window.partial?.map(s => s.text).join('')).toBe('thi');
    offset = log(ws, offset, 'rd');
    ws.receive({
      type: 'status',
      status: 'SUCCEEDED',
      exit_code: 0,
      message: 'Job finished successfully.'
    });
    expect(texts(model)).toEqual(['first line', 'second é', 'third']);
    expect(model.window.partial).toBeNull();
    expect(model.phase).toBe('ended');
    expect(model.status).toBe('SUCCEEDED');
    expect(model.exitCode).toBe(0);
    expect(model.message).toBe('Job finished successfully.');
    expect(ws.closed).toBe(true);
    expect(model.nextOffset).toBe(offset);
    // 'first line\n' + 'second é\n' (é is 2 bytes) + 'third'
    expect([0, 1, 2].map(i => model.window.lineAt(i).bytes)).toEqual([
      11, 10, 5
    ]);
  });

  it('joins an ANSI sequence and multi-byte text split across chunks', () => {
    const model = newModel('job-ansi');
    const ws = lastSocket();
    ws.open();
    let offset = log(ws, 0, 'a\x1b[3');
    // The unfinished sequence is never shown as text.
    expect(model.window.partial?.map(s => s.text).join('')).toBe('a');
    offset = log(ws, offset, '1mrouge 🙂 ');
    offset = log(ws, offset, 'ü\x1b[0m\n');
    const line = model.window.lineAt(0);
    expect(line.segments).toEqual([
      { text: 'a', classes: [] },
      { text: 'rouge 🙂 ü', classes: ['iog-ansi-fg-1'] }
    ]);
    // Byte offsets count UTF-8: 🙂 is 4 bytes, ü 2.
    expect(line.bytes).toBe(offset);
    expect(offset).toBe(encoder.encode('a\x1b[31mrouge 🙂 ü\x1b[0m\n').length);
  });

  it('resumes from the last byte offset after a drop, without duplicates', () => {
    const model = newModel('job-2');
    const first = lastSocket();
    first.open();
    const offset = log(first, 0, 'a ü\nb\n');
    expect(offset).toBe(7);
    first.drop();
    expect(model.phase).toBe('reconnecting');
    expect(model.message).toContain('resuming');
    jest.advanceTimersByTime(20000);
    const second = lastSocket();
    expect(second).not.toBe(first);
    expect(second.url).toBe(
      'ws://localhost:8888/iog/api/v1/jobs/job-2/logs/tail?offset=7'
    );
    second.open();
    expect(model.phase).toBe('following');
    // A range that overlaps what was received: only the new bytes count.
    second.receive({
      type: 'log',
      offset: 2,
      next_offset: 11,
      text: 'ü\nb\nc\n'
    });
    log(second, 11, 'd\n');
    expect(texts(model)).toEqual(['a ü', 'b', 'c', 'd']);
    // A repeated range changes nothing.
    second.receive({ type: 'log', offset: 9, next_offset: 11, text: 'c\n' });
    expect(texts(model)).toEqual(['a ü', 'b', 'c', 'd']);
    model.dispose();
    expect(second.closed).toBe(true);
  });

  it('ends with the server error when the job disappears', () => {
    const model = newModel('gone');
    lastSocket().open();
    log(lastSocket(), 0, 'half a line');
    lastSocket().receive({ type: 'error', message: 'Job gone was deleted.' });
    expect(model.phase).toBe('error');
    expect(model.message).toBe('Job gone was deleted.');
    expect(texts(model)).toEqual(['half a line']);
    expect(lastSocket().closed).toBe(true);
  });

  it('tells a refused tail of a deleted job from a busy server', async () => {
    const getJob = jest
      .fn()
      .mockResolvedValueOnce({ submission_id: 'maybe' })
      .mockRejectedValueOnce(responseError(404, 'No job maybe.'));
    const model = newModel('maybe', { jobs: { getJob } });
    // The upgrade is refused (429): the job exists, so the tail retries.
    lastSocket().drop();
    await settle();
    expect(getJob).toHaveBeenCalledWith('maybe');
    expect(model.phase).toBe('reconnecting');
    expect(model.message).toBe('The server refused the log stream; retrying.');
    jest.advanceTimersByTime(20000);
    expect(sockets).toHaveLength(2);
    // Refused again, and now the job is gone: the panel stops retrying.
    lastSocket().drop();
    await settle();
    expect(model.phase).toBe('error');
    expect(model.message).toBe('No job maybe.');
    jest.advanceTimersByTime(60000);
    expect(sockets).toHaveLength(2);
  });

  it('keeps at most maxLines lines, the partial line included', () => {
    const model = newModel('job-3', { maxLines: 3 });
    const ws = lastSocket();
    ws.open();
    const offset = log(ws, 0, 'l0\nl1\nl2\nl3\nl4\n');
    expect(texts(model)).toEqual(['l2', 'l3', 'l4']);
    expect(model.window.firstSeq).toBe(2); // two lines dropped
    expect(model.window.firstOffset).toBe(6);
    expect(model.hasEarlier).toBe(true);
    log(ws, offset, 'l5');
    expect(texts(model)).toEqual(['l3', 'l4']);
    expect(model.window.partial?.[0].text).toBe('l5');
  });

  it('loads the page before the kept lines, making room at the end', async () => {
    const seen = servePages('job-4', 'l0\nl1\nl2\nl3\nl4\n');
    const model = newModel('job-4', { maxLines: 3, pageBytes: 6 });
    const ws = lastSocket();
    ws.open();
    log(ws, 0, 'l0\nl1\nl2\nl3\nl4\n');
    expect(texts(model)).toEqual(['l2', 'l3', 'l4']);
    await expect(model.loadEarlier()).resolves.toBe(2);
    expect(seen[0].query).toEqual({ offset: '0', limit_bytes: '6' });
    expect(texts(model)).toEqual(['l0', 'l1', 'l2']);
    expect(model.window.firstOffset).toBe(0);
    expect(model.hasEarlier).toBe(false);
    // The newest lines made room: the window no longer follows the end.
    expect(model.detached).toBe(true);
  });

  it('loads earlier lines in front while following, after a jump', async () => {
    const full = 'l0\nl1\nl2\nl3\nl4\nl5\nl6\nl7\n';
    const seen = servePages('job-4b', full);
    const model = newModel('job-4b', { maxLines: 4, pageBytes: 5 });
    const ws = lastSocket();
    ws.open();
    let offset = log(ws, 0, 'l0\nl1\nl2\nl3\nl4\nl5\n');
    await model.loadEarlier();
    expect(texts(model)).toEqual(['l0', 'l1', 'l2', 'l3']);
    offset = log(ws, offset, 'l6\n');
    await model.jumpToEnd();
    // The page [15, 21) starts with 'l5', which may be a piece of a line.
    expect(seen[1].query).toEqual({ offset: '15', limit_bytes: '6' });
    expect(texts(model)).toEqual(['l6']);
    expect(model.window.firstOffset).toBe(18);
    expect(model.detached).toBe(false);
    await expect(model.loadEarlier()).resolves.toBe(1);
    expect(seen[2].query).toEqual({ offset: '12', limit_bytes: '6' });
    expect(texts(model)).toEqual(['l5', 'l6']);
    expect(model.detached).toBe(false);
    log(ws, offset, 'l7\n');
    expect(texts(model)).toEqual(['l5', 'l6', 'l7']);
  });

  it('counts offsets back from the page end when it starts inside a character', async () => {
    const full = 'αβγ\nδε\nζη\nlast\n';
    servePages('job-5', full);
    const model = newModel('job-5', { maxLines: 1, pageBytes: 8 });
    const ws = lastSocket();
    ws.open();
    log(ws, 0, full);
    expect(texts(model)).toEqual(['last']);
    expect(model.window.firstOffset).toBe(17);
    // [8, 17) starts inside 'δ': the server sends U+FFFD for the stray
    // byte, which must not shift the offsets.
    await model.loadEarlier();
    expect(texts(model)).toEqual(['ζη']);
    expect(model.window.firstOffset).toBe(12);
    await model.loadEarlier();
    expect(texts(model)).toEqual(['δε']);
    expect(model.window.firstOffset).toBe(7);
    await model.loadEarlier();
    expect(texts(model)).toEqual(['αβγ']);
    expect(model.window.firstOffset).toBe(0);
    expect(model.hasEarlier).toBe(false);
  });

  it('asks again when the server sends a shorter page than asked', async () => {
    const seen = servePages('job-6', 'aaaa\nbbbb\ncccc\ndddd\n', 10);
    const model = newModel('job-6', { maxLines: 1, pageBytes: 1000 });
    const ws = lastSocket();
    ws.open();
    log(ws, 0, 'aaaa\nbbbb\ncccc\ndddd\n');
    await model.loadEarlier();
    expect(seen.map(r => r.query)).toEqual([
      { offset: '0', limit_bytes: '15' },
      { offset: '5', limit_bytes: '10' }
    ]);
    expect(texts(model)).toEqual(['cccc']);
    expect(model.window.firstOffset).toBe(10);
  });

  it('detaches when earlier lines fill the window, and jumps back to the end', async () => {
    let full = '';
    for (let i = 0; i < 20; i++) {
      full += `line ${String(i).padStart(2, '0')}\n`; // 8 bytes a line
    }
    const seen = servePages('job-7', full + 'line 20\nline 21\n');
    const model = newModel('job-7', { maxLines: 5, pageBytes: 16 });
    const first = lastSocket();
    first.open();
    let offset = log(first, 0, full + 'line 2');
    expect(texts(model)).toEqual(['line 16', 'line 17', 'line 18', 'line 19']);
    expect(model.window.partial?.[0].text).toBe('line 2');
    // The window is full: loading earlier stops following first.
    await expect(model.loadEarlier()).resolves.toBe(2);
    expect(model.detached).toBe(true);
    expect(texts(model)).toEqual([
      'line 14',
      'line 15',
      'line 16',
      'line 17',
      'line 18'
    ]);
    expect(model.window.partial).toBeNull();
    // One byte more than a page: the newline before 'line 14' comes too.
    expect(seen[0].query).toEqual({ offset: '111', limit_bytes: '17' });
    // While detached the tail runs on, but its text is not kept.
    offset = log(first, offset, '0\nline 21\n');
    expect(model.nextOffset).toBe(offset);
    expect(texts(model)[4]).toBe('line 18');
    // Jump to end: the last page, and the tail resumes where it ends.
    const end = model.nextOffset;
    await model.jumpToEnd();
    expect(seen[1].query).toEqual({
      offset: String(end - 17),
      limit_bytes: '17'
    });
    expect(model.detached).toBe(false);
    expect(texts(model)).toEqual(['line 20', 'line 21']);
    expect(model.window.firstOffset).toBe(end - 16);
    log(first, end, 'line 22\n');
    expect(texts(model)).toEqual(['line 20', 'line 21', 'line 22']);
  });

  it('resumes the tail at the jumped-to page when it ran on meanwhile', async () => {
    const full = 'a\nb\nc\nd\ne\nf\n';
    const seen = servePages('job-8', full);
    const model = newModel('job-8', { maxLines: 3, pageBytes: 4 });
    const ws = lastSocket();
    ws.open();
    log(ws, 0, 'a\nb\nc\nd\n');
    await model.loadEarlier();
    expect(model.detached).toBe(true);
    expect(texts(model)).toEqual(['a', 'b', 'c']);
    // The page is fetched at offset 8 while the tail delivers up to 12.
    request.mockImplementationOnce(async () => {
      log(ws, 8, 'e\nf\n');
      return { text: '\nc\nd\n', offset: 3, next_offset: 8, eof: false };
    });
    await model.jumpToEnd();
    expect(seen).toHaveLength(1);
    expect(texts(model)).toEqual(['c', 'd']);
    // The socket reopened at 8: the server sends e and f again, once.
    const resumed = lastSocket();
    expect(resumed).not.toBe(ws);
    expect(resumed.url).toContain('offset=8');
    resumed.open();
    log(resumed, 8, 'e\nf\n');
    expect(texts(model)).toEqual(['d', 'e', 'f']);
  });

  it('completes the partial last line on a jump after the tail failed', async () => {
    const full = 'a\nb\nc\nd\npar';
    servePages('job-9', full);
    const model = newModel('job-9', { maxLines: 3, pageBytes: 4 });
    const ws = lastSocket();
    ws.open();
    log(ws, 0, full);
    await model.loadEarlier();
    expect(model.detached).toBe(true);
    ws.receive({ type: 'error', message: 'Job job-9 was deleted.' });
    expect(model.phase).toBe('error');
    await model.jumpToEnd();
    expect(model.detached).toBe(false);
    expect(texts(model)).toEqual(['par']);
    expect(model.window.partial).toBeNull();
  });
});

/**
 * Test doubles shared by the jest specs (this file holds no tests).
 *
 * - `servicesStub()`: a stand-in for `@jupyterlab/services`, used as
 *   `jest.mock('@jupyterlab/services', () => jest.requireActual('./fakes').servicesStub())`.
 * - `apputilsStub()`: `showDialog` / `showErrorMessage` as jest mocks and
 *   the `Dialog` button factories.
 * - `FakeWebSocket`: a WebSocket the test opens, feeds and drops by hand.
 * - `routeRequests()`: canned responses per endpoint for the mocked
 *   `requestAPI`.
 * - `wire()`: a server document from only the fields a test needs.
 * - `windowTexts()`: the text of a log window's lines.
 */

import type { LogWindow } from '../models/LogWindow';

/**
 * A stand-in for `@jupyterlab/services`.
 *
 * @returns The module's replacement.
 */

export function servicesStub(): Record<string, unknown> {
  class ResponseError extends Error {
    constructor(
      readonly response: { status: number; statusText: string },
      message = `Invalid response: ${response.status} ${response.statusText}`
    ) {
      super(message);
    }
  }
  class NetworkError extends TypeError {
    constructor(original: TypeError) {
      super(original.message);
    }
  }
  return {
    ServerConnection: {
      ResponseError,
      NetworkError,
      makeRequest: jest.fn(),
      makeSettings: jest.fn(() => makeSettings())
    }
  };
}

/**
 * A stand-in for `@jupyterlab/apputils`.
 *
 * @returns The module's replacement.
 */
export function apputilsStub(): Record<string, unknown> {
  const button =
    (accept: boolean, kind: string) =>
    (options: Record<string, unknown> = {}) => ({
      label: accept ? 'Ok' : 'Cancel',
      accept,
      displayType: kind,
      ...options
    });
  return {
    showDialog: jest.fn(),
    showErrorMessage: jest.fn(async () => undefined),
    InputDialog: { getText: jest.fn() },
    Dialog: {
      okButton: jest.fn(button(true, 'default')),
      warnButton: jest.fn(button(true, 'warn')),
      cancelButton: jest.fn(button(false, 'default'))
    }
  };
}

/**
 * Every `FakeWebSocket` created, in order.
 */
export const sockets: FakeWebSocket[] = [];

/**
 * A WebSocket driven by the test.
 */
export class FakeWebSocket {
  constructor(readonly url: string) {
    sockets.push(this);
  }

  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: unknown) => void) | null = null;
  sent: unknown[] = [];
  closed = false;

  /**
   * Record a sent message (parsed from JSON).
   */
  send(data: string): void {
    this.sent.push(JSON.parse(data));
  }

  /**
   * Close as the client does.
   */
  close(): void {
    this.closed = true;
  }

  /**
   * Simulate the server accepting the connection.
   */
  open(): void {
    this.onopen?.({});
  }

  /**
   * Simulate a JSON message from the server.
   */
  receive(message: unknown): void {
    this.onmessage?.({
      data: typeof message === 'string' ? message : JSON.stringify(message)
    });
  }

  /**
   * Simulate the connection dropping.
   */
  drop(): void {
    this.closed = true;
    this.onclose?.({});
  }
}

/**
 * Server settings whose sockets are `FakeWebSocket`s.
 *
 * @returns The settings.
 */
export function makeSettings(): {
  baseUrl: string;
  wsUrl: string;
  token: string;
  appendToken: boolean;
  WebSocket: typeof FakeWebSocket;
} {
  return {
    baseUrl: 'http://localhost:8888/',
    wsUrl: 'ws://localhost:8888/',
    token: '',
    appendToken: false,
    WebSocket: FakeWebSocket
  };
}

/**
 * A request as the mocked `requestAPI` saw it.
 */
export interface IRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  body: unknown;
}

/**
 * A canned answer: a value, or a function of the request (which may throw
 * or return a promise).
 */
export type Handler = (request: IRequest) => unknown;

/**
 * Make the mocked `requestAPI` answer per endpoint (`'GET jobs'`,
 * `'POST jobs/abc/stop'`, ...). Unknown endpoints reject.
 *
 * @param mock The mocked `requestAPI`.
 * @param routes The handlers, by `METHOD path` (path without the query).
 * @returns Every request seen, in order.
 */
export function routeRequests(
  mock: jest.Mock,
  routes: Record<string, Handler>
): IRequest[] {
  const seen: IRequest[] = [];
  mock.mockImplementation(async (endPoint = '', init: RequestInit = {}) => {
    const [path, search = ''] = String(endPoint).split('?');
    const query: Record<string, string> = {};
    for (const part of search.split('&').filter(Boolean)) {
      const [key, value = ''] = part.split('=');
      query[key] = decodeURIComponent(value);
    }
    const method = (init.method ?? 'GET').toUpperCase();
    const request: IRequest = {
      method,
      path,
      query,
      body: typeof init.body === 'string' ? JSON.parse(init.body) : undefined
    };
    seen.push(request);
    const handler = routes[`${method} ${path}`];
    if (!handler) {
      throw new Error(`No canned response for ${method} ${path}`);
    }
    return handler(request);
  });
  return seen;
}

/**
 * Build an `IogResponseError` as the server would cause it.
 *
 * @param status The HTTP status.
 * @param message The server's message.
 * @param reason The server's reason.
 * @returns The error.
 */
export function responseError(
  status: number,
  message: string,
  reason: string | null = null
): Error {
  const { IogResponseError } = jest.requireActual('../api/request');
  return new IogResponseError(
    { status, statusText: '' } as Response,
    reason ? { message, reason } : { message }
  );
}

/**
 * A promise that can be settled from outside.
 */
export function deferred<T>(): {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (reason: unknown) => void;
} {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/**
 * Let pending promises and zero-delay timers run.
 */
export async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) {
    await new Promise(resolve => setTimeout(resolve, 0));
  }
}

/**
 * A server document, each of its objects partial.
 */
export type DeepPartial<T> = T extends (infer U)[]
  ? DeepPartial<U>[]
  : T extends object
    ? { [K in keyof T]?: DeepPartial<T[K]> }
    : T;

/**
 * A server document from only the fields a test needs, whether the API's
 * schema marks the others optional or required; the fields given are still
 * type-checked.
 *
 * @param fields The fields.
 * @returns The same object, typed as the whole document.
 */
export function wire<T>(fields: DeepPartial<T>): T {
  return fields as T;
}

/**
 * The text of a log window's kept lines, the partial last line included.
 */
export function windowTexts(window: LogWindow): string[] {
  const lines: string[] = [];
  for (let i = 0; i < window.length; i++) {
    lines.push(
      window
        .lineAt(i)
        .segments.map(s => s.text)
        .join('')
    );
  }
  return lines;
}

/**
 * Unit tests of the REST helper and the status service.
 *
 * `@jupyterlab/services` is replaced by a small stand-in so the tests need
 * neither a browser environment nor a Jupyter server.
 */

jest.mock('@jupyterlab/services', () => {
  class ResponseError extends Error {
    constructor(
      readonly response: Response,
      message = `Invalid response: ${response.status} ${response.statusText}`,
      readonly traceback = ''
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
      makeSettings: jest.fn(() => ({ baseUrl: 'http://localhost:8888/lab/' }))
    }
  };
});

import { ServerConnection } from '@jupyterlab/services';

import { IogResponseError, requestAPI } from '../api/request';
import { StatusService } from '../api/services';
import { formatClusterSummary } from '../format';

const makeRequest = ServerConnection.makeRequest as jest.MockedFunction<
  typeof ServerConnection.makeRequest
>;

const settings = {
  baseUrl: 'http://localhost:8888/base/'
} as ServerConnection.ISettings;

function jsonResponse(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json' }
  });
}

describe('requestAPI', () => {
  beforeEach(() => {
    makeRequest.mockReset();
  });

  it('calls the iog namespace below the base URL and parses JSON', async () => {
    makeRequest.mockResolvedValue(jsonResponse(200, { version: '0.1.0' }));

    const data = await requestAPI<{ version: string }>('status', {}, settings);

    expect(data.version).toBe('0.1.0');
    expect(makeRequest).toHaveBeenCalledTimes(1);
    expect(makeRequest.mock.calls[0][0]).toBe(
      'http://localhost:8888/base/iog/api/v1/status'
    );
    expect(makeRequest.mock.calls[0][2]).toBe(settings);
  });

  it('asks for revalidation instead of a cache-busting query parameter', async () => {
    makeRequest.mockResolvedValue(jsonResponse(200, {}));

    await requestAPI('jobs', { method: 'POST', body: '{}' }, settings);

    // `no-store` would make makeRequest append `?<timestamp>`, which the
    // server refuses as an unknown query parameter.
    expect(makeRequest.mock.calls[0][1]).toEqual({
      cache: 'no-cache',
      method: 'POST',
      body: '{}'
    });
  });

  it('throws IogResponseError carrying status, message and reason', async () => {
    makeRequest.mockResolvedValue(
      jsonResponse(503, {
        message: 'Ray is not reachable at 127.0.0.1:6379',
        reason: 'ray_unavailable'
      })
    );

    const error = await requestAPI('cluster', {}, settings).catch(
      (e: unknown) => e
    );

    expect(error).toBeInstanceOf(IogResponseError);
    expect(error).toBeInstanceOf(ServerConnection.ResponseError);
    const iogError = error as IogResponseError;
    expect(iogError.status).toBe(503);
    expect(iogError.message).toBe('Ray is not reachable at 127.0.0.1:6379');
    expect(iogError.reason).toBe('ray_unavailable');
    expect(iogError.response.status).toBe(503);
  });

  it('falls back to the status line for a non-JSON error body', async () => {
    makeRequest.mockResolvedValue(
      new Response('', { status: 502, statusText: 'Bad Gateway' })
    );

    const error = (await requestAPI('status', {}, settings).catch(
      (e: unknown) => e
    )) as IogResponseError;

    expect(error).toBeInstanceOf(IogResponseError);
    expect(error.status).toBe(502);
    expect(error.message).toBe('502 Bad Gateway');
    expect(error.reason).toBeNull();
  });

  it('wraps fetch failures in a NetworkError', async () => {
    makeRequest.mockRejectedValue(new TypeError('Failed to fetch'));

    await expect(requestAPI('status', {}, settings)).rejects.toBeInstanceOf(
      ServerConnection.NetworkError
    );
  });
});

describe('StatusService', () => {
  beforeEach(() => {
    makeRequest.mockReset();
  });

  it('fetches the status and the cluster snapshot', async () => {
    const service = new StatusService({ serverSettings: settings });
    makeRequest.mockResolvedValueOnce(
      jsonResponse(200, {
        version: '0.1.0',
        ray: { connected: true, address: '127.0.0.1:6379' },
        last_error: null
      })
    );
    makeRequest.mockResolvedValueOnce(
      jsonResponse(200, {
        timestamp: 1700000000,
        totals: { CPU: 2, GPU: 0 },
        available: { CPU: 1.5, GPU: 0 },
        nodes: []
      })
    );

    const status = await service.getStatus();
    const cluster = await service.getCluster();

    expect(status.ray.connected).toBe(true);
    expect(status.last_error).toBeNull();
    expect(formatClusterSummary(cluster)).toBe('Ray: 1.5/2 CPU · 0/0 GPU free');
    expect(makeRequest.mock.calls[1][0]).toBe(
      'http://localhost:8888/base/iog/api/v1/cluster'
    );
  });
});

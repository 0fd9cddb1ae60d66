import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { API_NAMESPACE } from '../tokens';
import type { ErrorBody } from './types';

/**
 * Error thrown when the iog server extension answers with a non-2xx status.
 *
 * It is a `ServerConnection.ResponseError`, so JupyterLab's generic error
 * helpers (e.g. `showErrorMessage`) understand it, and it additionally
 * carries the HTTP status and the server's `message` / `reason` fields.
 */
export class IogResponseError extends ServerConnection.ResponseError {
  /**
   * Build an error from a failed response and its (possibly parsed) body.
   *
   * @param body The response body: the parsed JSON object, the raw text
   *   when it was not JSON, or `null` when empty.
   */
  constructor(response: Response, body: unknown) {
    // The `message` and `reason` fields of an error body, when strings.
    const field = (key: keyof ErrorBody): string | undefined => {
      const value = (body as Record<string, unknown> | null)?.[key];
      return typeof value === 'string' && value ? value : undefined;
    };
    const message =
      field('message') ||
      (typeof body === 'string' && body.trim()) ||
      `${response.status} ${response.statusText}`.trim() ||
      'Request failed';
    super(response, message);
    this.name = 'IogResponseError';
    this.status = response.status;
    this.reason = field('reason') ?? null;
    this.body = body;
  }

  /** The HTTP status code of the response. */
  readonly status: number;

  /** The server's machine-readable reason (e.g. `ray_unavailable`), if any. */
  readonly reason: string | null;

  /** The response body as received (parsed JSON when possible). */
  readonly body: unknown;
}

/**
 * Call the iog server extension's REST API.
 *
 * This is the only place in the frontend that calls
 * `ServerConnection.makeRequest`; every request therefore carries the
 * server's XSRF token and authorization header.
 *
 * @param endPoint Path below `{baseUrl}iog/api/v1/` (e.g. `status`).
 * @param init Initial values for the request (method, body, ...).
 * @param settings Server settings; defaults to `ServerConnection.makeSettings()`.
 * @returns The response body parsed as JSON (`null` for an empty body).
 * @throws {ServerConnection.NetworkError} When the server cannot be reached.
 * @throws {IogResponseError} When the server answers with a non-2xx status.
 */
export async function requestAPI<T>(
  endPoint = '',
  init: RequestInit = {},
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): Promise<T> {
  const requestUrl = URLExt.join(settings.baseUrl, API_NAMESPACE, endPoint);

  // JupyterLab's default `cache: 'no-store'` makes `makeRequest` append a
  // bare `?<timestamp>` cache buster, which the iog routes refuse as an
  // unknown query parameter. `no-cache` still revalidates every response.
  const requestInit: RequestInit = { cache: 'no-cache', ...init };

  let response: Response;
  try {
    response = await ServerConnection.makeRequest(
      requestUrl,
      requestInit,
      settings
    );
  } catch (error) {
    throw new ServerConnection.NetworkError(error as TypeError);
  }

  const text = await response.text();
  let data: unknown = null;
  if (text.length > 0) {
    try {
      data = JSON.parse(text);
    } catch {
      data = text;
    }
  }

  if (!response.ok) {
    throw new IogResponseError(response, data);
  }
  if (typeof data === 'string') {
    throw new IogResponseError(response, 'Response body is not JSON');
  }
  return data as T;
}

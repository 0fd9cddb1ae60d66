import { ServerConnection } from '@jupyterlab/services';

import { IogResponseError } from '../api/request';

/**
 * Whether a model's data reached it: `connecting` until the first answer,
 * `connected` while answers arrive, `disconnected` after an error (the
 * model keeps its last data and recovers by itself).
 */
export type ConnectionState = 'connecting' | 'connected' | 'disconnected';

/** Text shown when the Jupyter server itself cannot be reached. */
export const SERVER_UNREACHABLE_MESSAGE =
  'The Jupyter server cannot be reached; retrying.';

/**
 * Describe a failed request in words a person can act on.
 *
 * @param error What a service method rejected with.
 * @returns The server's message for an `IogResponseError`, a fixed text
 *   for a network error, else the error's own message.
 */
export function describeError(error: unknown): string {
  if (error instanceof IogResponseError) {
    return error.message;
  }
  if (error instanceof ServerConnection.NetworkError) {
    return SERVER_UNREACHABLE_MESSAGE;
  }
  if (error instanceof Error && error.message) {
    return error.message;
  }
  return typeof error === 'string' && error ? error : 'Request failed.';
}

/** Longest refresh interval accepted, in milliseconds (one day). */
export const MAX_REFRESH_INTERVAL_MS = 24 * 60 * 60 * 1000;

/**
 * Clamp a refresh interval to a sane range.
 *
 * @returns The interval, rounded and clamped to `[minimum, one day]`.
 */
export function clampInterval(value: number, minimum: number): number {
  if (!Number.isFinite(value)) {
    return minimum;
  }
  return Math.min(
    Math.max(Math.round(value), minimum),
    MAX_REFRESH_INTERVAL_MS
  );
}

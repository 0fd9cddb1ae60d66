import { ServerConnection } from '@jupyterlab/services';
import type { IPoll } from '@lumino/polling';

import { IogResponseError } from '../api/request';
import {
  DEFAULT_REFRESH_INTERVAL_MS,
  MIN_REFRESH_INTERVAL_MS
} from '../tokens';

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
 * The `Poll` frequency of the models and the job watcher: every
 * `intervalMs` (default 5 s), rounded and clamped to `[MIN_REFRESH_INTERVAL_MS, one day]`,
 * backing off while fetches fail up to a minute (or the interval, when longer).
 */
export function pollFrequency(
  intervalMs = DEFAULT_REFRESH_INTERVAL_MS
): IPoll.Frequency & { interval: number } {
  const value = Number.isFinite(intervalMs) ? Math.round(intervalMs) : 0;
  const interval = Math.min(
    Math.max(value, MIN_REFRESH_INTERVAL_MS),
    MAX_REFRESH_INTERVAL_MS
  );
  return { interval, backoff: true, max: Math.max(interval, 60000) };
}

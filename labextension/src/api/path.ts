import { URLExt } from '@jupyterlab/coreutils';

/**
 * Encode one path segment of an API URL.
 *
 * `encodeURIComponent` leaves `.` alone, and `URLExt.join` would resolve a
 * `.` or `..` segment, so the dots of such a segment are percent-encoded too:
 * the server still receives the literal name.
 *
 * @param value The raw segment (a job id, an actor's namespace or name, ...).
 * @returns The encoded segment, never containing `/` and never `.` or `..`.
 */
export function encodePathSegment(value: string): string {
  const encoded = encodeURIComponent(value);
  return encoded === '.' || encoded === '..'
    ? encoded.replace(/\./g, '%2E')
    : encoded;
}

/**
 * Build a query string from the parameters that are set.
 *
 * Empty strings, `null` and `undefined` are left out, because the server
 * refuses unknown or empty filters rather than ignoring them.
 *
 * @param params The query parameters.
 * @returns `?a=1&b=2`, or `''` when no parameter is set.
 */
export function queryString(
  params: Record<string, string | number | boolean | null | undefined>
): string {
  const kept: Record<string, string> = {};
  for (const [key, value] of Object.entries(params)) {
    if (value === null || value === undefined || value === '') {
      continue;
    }
    kept[key] = String(value);
  }
  return URLExt.objectToQueryString(kept);
}

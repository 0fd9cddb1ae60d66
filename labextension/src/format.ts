import type { IClusterSnapshot, IResourceMap, IStatus } from './api/types';

/**
 * Format a resource quantity for display: integers as is, fractions with
 * at most two decimals.
 *
 * @param value The quantity; missing or non-finite values count as 0.
 * @returns The formatted quantity.
 */
export function formatQuantity(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) {
    return '0';
  }
  return Number.isInteger(value)
    ? String(value)
    : String(Math.round(value * 100) / 100);
}

/**
 * Format `available/total NAME` for one resource.
 *
 * @param name The Ray resource name (e.g. `CPU`).
 * @param available The available resources.
 * @param totals The total resources.
 * @returns For instance `2/4 CPU`.
 */
export function formatResource(
  name: string,
  available: IResourceMap,
  totals: IResourceMap
): string {
  return `${formatQuantity(available[name])}/${formatQuantity(totals[name])} ${name}`;
}

/**
 * One-line summary of a cluster snapshot for the status bar.
 *
 * @param snapshot The cluster snapshot.
 * @returns For instance `Ray: 2/2 CPU · 0/0 GPU free`.
 */
export function formatClusterSummary(snapshot: IClusterSnapshot): string {
  const available = snapshot.available ?? {};
  const totals = snapshot.totals ?? {};
  return (
    `Ray: ${formatResource('CPU', available, totals)} · ` +
    `${formatResource('GPU', available, totals)} free`
  );
}

/**
 * Label/value rows describing the server status, for plain-text display.
 *
 * @param status The status document.
 * @returns The rows, in display order.
 */
export function statusRows(status: IStatus): Array<[string, string]> {
  const ray = status.ray ?? { connected: false };
  return [
    ['Extension version', status.version ?? 'unknown'],
    ['Connected', ray.connected ? 'yes' : 'no'],
    ['Address', ray.address || '—'],
    ['Auth mode', ray.auth_mode || '—'],
    ['Dashboard', ray.dashboard || '—'],
    ['Last error', status.last_error || '—']
  ];
}

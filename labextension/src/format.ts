import type { ClusterSnapshot, ResourceMap, Status } from './api/types';

/**
 * One-line summary of a cluster snapshot for the status bar.
 *
 * @returns For instance `Ray: 2/2 CPU · 0/0 GPU free`.
 */
export function formatClusterSummary(snapshot: ClusterSnapshot): string {
  const part = (name: string): string =>
    `${formatCount(snapshot.available?.[name], 2)}/` +
    `${formatCount(snapshot.totals?.[name], 2)} ${name}`;
  return `Ray: ${part('CPU')} · ${part('GPU')} free`;
}

/** The names of a snapshot's node pools, for the submit dialogs to suggest. */
export function poolNames(snapshot: ClusterSnapshot | null): string[] {
  return (snapshot?.pools ?? []).map(pool => pool.name ?? '').filter(Boolean);
}

/** Label/value rows describing the server status, for plain-text display. */
export function statusRows(status: Status): Array<[string, string]> {
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

/** Bytes in one GiB. */
const GIB = 1024 ** 3;

/**
 * Format a count of CPUs, GPUs or a custom resource: at most `decimals`
 * decimals, no trailing zeros.
 *
 * @param value The quantity; missing or non-finite values count as 0.
 * @param decimals The most decimals shown (default 1).
 * @returns For instance `2` or `0.5`.
 */
export function formatCount(
  value: number | null | undefined,
  decimals = 1
): string {
  if (!Number.isFinite(value)) {
    return '0';
  }
  const scale = 10 ** decimals;
  const rounded = Math.round(Number(value) * scale) / scale;
  return String(Object.is(rounded, -0) ? 0 : rounded);
}

/**
 * Format a number of bytes in GiB with one decimal.
 *
 * @param bytes The size; missing or non-finite values count as 0.
 * @returns For instance `3.2 GiB`.
 */
export function formatGiB(bytes: number | null | undefined): string {
  const value = Number.isFinite(bytes) ? Number(bytes) : 0;
  return `${(value / GIB).toFixed(1)} GiB`;
}

/** Whether a Ray resource is in bytes (`memory`, `object_store_memory`). */
export function isByteResource(name: string): boolean {
  return name === 'memory' || name === 'object_store_memory';
}

/**
 * Format a resource bundle (a demand) as `1 CPU, 1 GPU`: memory in GiB,
 * other resources as counts.
 *
 * @returns The resources in words, `nothing` when empty.
 */
export function formatBundle(bundle?: ResourceMap | null): string {
  const parts = Object.keys(bundle ?? {})
    .sort()
    .map(name => {
      const value = bundle?.[name];
      return `${isByteResource(name) ? formatGiB(value) : formatCount(value)} ${name}`;
    });
  return parts.length ? parts.join(', ') : 'nothing';
}

/**
 * `1 job`, `2 jobs`: a count and a noun in the right number.
 *
 * @param plural The noun for several (default: singular + `s`).
 */
export function pluralize(
  count: number,
  singular: string,
  plural = `${singular}s`
): string {
  return `${count} ${count === 1 ? singular : plural}`;
}

/**
 * The status bar text: free/total GPUs and running jobs.
 *
 * @param running How many jobs run; null when not known.
 * @returns For instance `GPU 0/1 · 2 jobs running`.
 */
export function formatStatusText(
  snapshot: ClusterSnapshot,
  running: number | null
): string {
  const gpu =
    `GPU ${formatCount(snapshot.available?.GPU)}/` +
    `${formatCount(snapshot.totals?.GPU)}`;
  return running === null
    ? gpu
    : `${gpu} · ${pluralize(running, 'job')} running`;
}

/**
 * Format a duration in seconds as `45s`, `3m 5s`, `2h 4m` or `3d 1h`.
 *
 * @param seconds The duration; null or negative gives `—`.
 */
export function formatDuration(seconds: number | null | undefined): string {
  if (typeof seconds !== 'number' || !(seconds >= 0)) {
    return '—';
  }
  const s = Math.floor(seconds);
  if (s < 60) {
    return `${s}s`;
  }
  if (s < 3600) {
    return `${Math.floor(s / 60)}m ${s % 60}s`;
  }
  if (s < 86400) {
    return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  }
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}

/**
 * Format a point in time for a table cell, in the browser's locale.
 *
 * @param epochMs The time in epoch milliseconds, if known.
 * @param iso The time as ISO-8601, used when `epochMs` is missing.
 * @returns A short local date and time, or `—`.
 */
export function formatTime(
  epochMs: number | null | undefined,
  iso?: string | null
): string {
  // Without either (or with an empty `iso`), the date is invalid.
  const date = new Date(
    Number.isFinite(epochMs) ? Number(epochMs) : iso || NaN
  );
  if (Number.isNaN(date.getTime())) {
    return '—';
  }
  return date.toLocaleString(undefined, {
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit'
  });
}

/**
 * How long ago a point in time was, in words: `just now`, `45 s ago`,
 * `2 min ago`, `3 h ago`, `2 d ago`.
 *
 * @param epochMs The time in epoch milliseconds, if known.
 * @param now The current time in epoch milliseconds.
 * @returns The age in words, or `—` when the time is unknown.
 */
export function formatAge(
  epochMs: number | null | undefined,
  now = Date.now()
): string {
  if (!Number.isFinite(epochMs)) {
    return '—';
  }
  const s = Math.max(0, Math.floor((now - Number(epochMs)) / 1000));
  const [value, unit] =
    s < 60
      ? [s, 's']
      : s < 3600
        ? [Math.floor(s / 60), 'min']
        : s < 86400
          ? [Math.floor(s / 3600), 'h']
          : [Math.floor(s / 86400), 'd'];
  return s < 5 ? 'just now' : `${value} ${unit} ago`;
}

/**
 * The label of one page of a list: `11–20 of 42`.
 *
 * @param pageIndex The page's index, 0 for the first.
 * @param pageSize How many items a full page holds.
 * @param count How many items this page holds.
 * @param total How many items the list holds, when known.
 * @returns The label, or `''` for an empty page or an unknown total.
 */
export function formatPageRange(
  pageIndex: number,
  pageSize: number,
  count: number,
  total: number | null | undefined
): string {
  if (total === null || total === undefined || count === 0) {
    return '';
  }
  const first = pageIndex * pageSize + 1;
  return `${first}–${first + count - 1} of ${total}`;
}

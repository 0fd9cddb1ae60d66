/**
 * Unit tests of the display formatters.
 */

import {
  formatAge,
  formatBundle,
  formatCount,
  formatDuration,
  formatGiB,
  formatPageRange,
  formatStatusText,
  formatTime,
  pluralize
} from '../format';
import type { ClusterSnapshot } from '../api/types';
import { wire } from './fakes';

describe('format', () => {
  it('words how long ago a time was', () => {
    const now = 1_700_000_000_000;
    expect(formatAge(now, now)).toBe('just now');
    expect(formatAge(now - 4_999, now)).toBe('just now');
    expect(formatAge(now - 45_000, now)).toBe('45 s ago');
    expect(formatAge(now - 150_000, now)).toBe('2 min ago');
    expect(formatAge(now - 3 * 3600_000 - 1, now)).toBe('3 h ago');
    expect(formatAge(now - 50 * 3600_000, now)).toBe('2 d ago');
    // A clock a little ahead of the browser's: not "in the future".
    expect(formatAge(now + 3_000, now)).toBe('just now');
    expect(formatAge(null, now)).toBe('—');
    expect(formatAge(Number.NaN, now)).toBe('—');
  });

  it('formats counts with at most one decimal and no trailing .0', () => {
    expect(formatCount(2)).toBe('2');
    expect(formatCount(2.0)).toBe('2');
    expect(formatCount(0.5)).toBe('0.5');
    expect(formatCount(1.25)).toBe('1.3');
    expect(formatCount(1.04)).toBe('1');
    expect(formatCount(undefined)).toBe('0');
    expect(formatCount(Number.NaN)).toBe('0');
    expect(formatCount(-0.01)).toBe('0');
  });

  it('formats bytes in GiB with one decimal', () => {
    expect(formatGiB(3.2 * 1024 ** 3)).toBe('3.2 GiB');
    expect(formatGiB(0)).toBe('0.0 GiB');
    expect(formatGiB(null)).toBe('0.0 GiB');
  });

  it('writes the status bar text', () => {
    const snapshot = wire<ClusterSnapshot>({
      totals: { GPU: 4 },
      available: { GPU: 1 },
      nodes: []
    });
    expect(formatStatusText(snapshot, 1)).toBe('GPU 1/4 · 1 job running');
    expect(formatStatusText(snapshot, 2)).toBe('GPU 1/4 · 2 jobs running');
    expect(
      formatStatusText({ ...snapshot, totals: {}, available: {} }, 0)
    ).toBe('GPU 0/0 · 0 jobs running');
    expect(formatStatusText(snapshot, null)).toBe('GPU 1/4');
  });

  it('formats durations, bundles, plurals and times', () => {
    expect(formatDuration(45.9)).toBe('45s');
    expect(formatDuration(185)).toBe('3m 5s');
    expect(formatDuration(7440)).toBe('2h 4m');
    expect(formatDuration(90000)).toBe('1d 1h');
    expect(formatDuration(null)).toBe('—');
    expect(formatDuration(-1)).toBe('—');
    expect(formatBundle({ GPU: 1, CPU: 0.5, memory: 1024 ** 3 })).toBe(
      '0.5 CPU, 1 GPU, 1.0 GiB memory'
    );
    expect(formatBundle({})).toBe('nothing');
    expect(pluralize(1, 'node')).toBe('1 node');
    expect(pluralize(0, 'node')).toBe('0 nodes');
    expect(formatTime(null, null)).toBe('—');
    expect(formatTime(undefined, 'not a date')).toBe('—');
    expect(formatTime(1714557600000)).not.toBe('—');
  });
});

describe('formatPageRange', () => {
  it('labels a page by its first and last item and the total', () => {
    expect(formatPageRange(0, 50, 50, 120)).toBe('1–50 of 120');
    expect(formatPageRange(2, 50, 20, 120)).toBe('101–120 of 120');
    expect(formatPageRange(0, 50, 0, 0)).toBe('');
    expect(formatPageRange(1, 10, 5, null)).toBe('');
  });
});

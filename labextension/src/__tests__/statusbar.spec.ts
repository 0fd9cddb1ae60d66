/**
 * @jest-environment jsdom
 */

/**
 * Unit tests of the status bar item (DOM text only, no JupyterLab shell).
 */

import type { StatusService } from '../api/StatusService';
import type { IClusterSnapshot } from '../api/types';
import { DISCONNECTED_TEXT, RayStatusItem } from '../statusbar';

function fakeService(
  getCluster: () => Promise<IClusterSnapshot>
): StatusService {
  return { getCluster } as unknown as StatusService;
}

describe('RayStatusItem', () => {
  it('shows free/total CPU and GPU', async () => {
    const item = new RayStatusItem({
      service: fakeService(async () => ({
        timestamp: 0,
        totals: { CPU: 2, GPU: 1 },
        available: { CPU: 2, GPU: 0 },
        nodes: []
      })),
      interval: 60000
    });
    await item.refresh();
    expect(item.text).toBe('Ray: 2/2 CPU · 0/1 GPU free');
    expect(item.hasClass('iog-StatusItem')).toBe(true);
    expect(item.interval).toBe(60000);
    item.dispose();
  });

  it('shows "disconnected" as text on error and rethrows', async () => {
    const item = new RayStatusItem({
      service: fakeService(async () => {
        throw new Error('<b>Ray is down</b>');
      }),
      interval: 60000
    });
    await expect(item.refresh()).rejects.toThrow('Ray is down');
    expect(item.text).toBe(DISCONNECTED_TEXT);
    expect(item.node.title).toBe('<b>Ray is down</b>');
    expect(item.node.querySelector('b')).toBeNull();
    expect(item.hasClass('iog-mod-disconnected')).toBe(true);
    item.dispose();
  });

  it('accepts intervals longer than the backoff ceiling', () => {
    const item = new RayStatusItem({
      service: fakeService(() => new Promise(() => undefined)),
      interval: 10 * 60 * 1000
    });
    expect(item.interval).toBe(600000);
    item.dispose();
  });
});

/**
 * @jest-environment jsdom
 */

/**
 * Unit tests of the status bar item (DOM text only, no JupyterLab shell),
 * rendering stand-ins for the cluster and jobs models.
 */

import { Signal } from '@lumino/signaling';

import type { ClusterSnapshot } from '../api/types';
import type { ClusterModel } from '../models/ClusterModel';
import type { ConnectionState } from '../models/connection';
import type { JobsModel } from '../models/JobsModel';
import {
  CONNECTING_TEXT,
  DISCONNECTED_TEXT,
  RayStatusItem
} from '../statusbar';
import { wire } from './fakes';

class FakeCluster {
  changed = new Signal<this, void>(this);
  snapshot: ClusterSnapshot | null = null;
  state: ConnectionState = 'connecting';
  message: string | null = null;

  set(
    state: ConnectionState,
    snapshot: ClusterSnapshot | null,
    message: string | null = null
  ): void {
    this.state = state;
    this.snapshot = snapshot;
    this.message = message;
    this.changed.emit(undefined);
  }
}

class FakeJobs {
  changed = new Signal<this, void>(this);
  runningCount: number | null = null;

  set(count: number | null): void {
    this.runningCount = count;
    this.changed.emit(undefined);
  }
}

function snapshot(free: number, total: number): ClusterSnapshot {
  return wire<ClusterSnapshot>({
    totals: { CPU: 2, GPU: total },
    available: { CPU: 2, GPU: free },
    nodes: []
  });
}

function makeItem(onClick?: () => void): {
  item: RayStatusItem;
  cluster: FakeCluster;
  jobs: FakeJobs;
} {
  const cluster = new FakeCluster();
  const jobs = new FakeJobs();
  const item = new RayStatusItem({
    cluster: cluster as unknown as ClusterModel,
    jobs: jobs as unknown as JobsModel,
    onClick
  });
  return { item, cluster, jobs };
}

describe('RayStatusItem', () => {
  it('shows free/total GPUs and running jobs', () => {
    const { item, cluster, jobs } = makeItem();
    expect(item.text).toBe(CONNECTING_TEXT);
    expect(item.hasClass('iog-StatusItem')).toBe(true);
    expect(item.node.querySelector('span.iog-StatusItem-label')).not.toBeNull();

    cluster.set('connected', snapshot(0, 1));
    expect(item.text).toBe('GPU 0/1');
    jobs.set(1);
    expect(item.text).toBe('GPU 0/1 · 1 job running');
    jobs.set(0);
    expect(item.text).toBe('GPU 0/1 · 0 jobs running');
    cluster.set('connected', snapshot(1.5, 2));
    jobs.set(3);
    expect(item.text).toBe('GPU 1.5/2 · 3 jobs running');
    expect(item.node.title).toContain('2/2 CPU');
    item.dispose();
  });

  it('shows "disconnected" as text, with the message as a tooltip', () => {
    const { item, cluster } = makeItem();
    cluster.set('connected', snapshot(0, 0));
    cluster.set('disconnected', snapshot(0, 0), '<b>Ray is down</b>');

    expect(item.text).toBe(DISCONNECTED_TEXT);
    expect(item.text).toBe('Ray: disconnected');
    expect(item.node.title).toBe('<b>Ray is down</b>');
    expect(item.node.querySelector('b')).toBeNull();
    expect(item.hasClass('iog-mod-disconnected')).toBe(true);

    cluster.set('connected', snapshot(0, 0));
    expect(item.text).toBe('GPU 0/0');
    expect(item.hasClass('iog-mod-disconnected')).toBe(false);
    item.dispose();
  });

  it('runs its click handler on click and on Enter', () => {
    const onClick = jest.fn();
    const { item } = makeItem(onClick);
    expect(item.hasClass('iog-mod-clickable')).toBe(true);
    item.node.click();
    item.node.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter' }));
    expect(onClick).toHaveBeenCalledTimes(2);
    item.dispose();
  });

  it('stops following the models once disposed', () => {
    const { item, cluster } = makeItem();
    item.dispose();
    cluster.set('connected', snapshot(1, 1));
    expect(item.text).toBe(CONNECTING_TEXT);
  });
});

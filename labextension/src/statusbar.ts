import { Poll } from '@lumino/polling';
import { Widget } from '@lumino/widgets';

import type { StatusService } from './api/StatusService';
import { DEFAULT_REFRESH_INTERVAL_MS } from './tokens';
import { formatClusterSummary } from './format';

/**
 * Longest delay between two refreshes while backing off after errors.
 */
const BACKOFF_MAX_MS = 5 * 60 * 1000;

/**
 * Largest refresh interval accepted (one day).
 */
const MAX_INTERVAL_MS = 24 * 60 * 60 * 1000;

/**
 * Text shown while the cluster cannot be reached.
 */
export const DISCONNECTED_TEXT = 'Ray: disconnected';

/**
 * Status bar item showing the free CPU and GPU of the Ray cluster,
 * refreshed by a `Poll`.
 */
export class RayStatusItem extends Widget {
  /**
   * Create the status bar item and start polling.
   *
   * @param options The item options.
   */
  constructor(options: RayStatusItem.IOptions) {
    super();
    this.addClass('iog-StatusItem');
    this._service = options.service;
    this._onClick = options.onClick ?? null;
    this._label = document.createElement('span');
    this._label.className = 'iog-StatusItem-label';
    this._label.textContent = 'Ray: …';
    this.node.appendChild(this._label);
    this.node.title = 'Ray cluster resources';
    if (this._onClick) {
      this.addClass('iog-mod-clickable');
      this.node.addEventListener('click', this._handleClick);
    }

    this._poll = new Poll({
      auto: true,
      factory: () => this.refresh(),
      frequency: {
        interval: DEFAULT_REFRESH_INTERVAL_MS,
        backoff: true,
        max: BACKOFF_MAX_MS
      },
      name: 'iog-jupyter:status-item',
      standby: 'when-hidden'
    });
    if (options.interval !== undefined) {
      this.interval = options.interval;
    }
  }

  /**
   * The text currently displayed.
   */
  get text(): string {
    return this._label.textContent ?? '';
  }

  /**
   * The polling interval in milliseconds.
   */
  get interval(): number {
    return this._poll.frequency.interval;
  }
  set interval(value: number) {
    const interval = Math.min(Math.round(value), MAX_INTERVAL_MS);
    if (!(interval > 0) || interval === this._poll.frequency.interval) {
      return;
    }
    // Poll requires interval <= max; the backoff ceiling follows the interval.
    this._poll.frequency = {
      ...this._poll.frequency,
      interval,
      max: Math.max(BACKOFF_MAX_MS, interval)
    };
  }

  /**
   * Fetch a cluster snapshot and update the text.
   *
   * The error is re-thrown after the text is updated so that the poll
   * backs off while the server or cluster is unavailable.
   */
  async refresh(): Promise<void> {
    try {
      const snapshot = await this._service.getCluster();
      this._label.textContent = formatClusterSummary(snapshot);
      this.node.title = 'Ray cluster resources (free/total)';
      this.removeClass('iog-mod-disconnected');
    } catch (error) {
      this._label.textContent = DISCONNECTED_TEXT;
      this.node.title =
        error instanceof Error && error.message
          ? error.message
          : DISCONNECTED_TEXT;
      this.addClass('iog-mod-disconnected');
      throw error;
    }
  }

  /**
   * Dispose of the item and stop polling.
   */
  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._poll.dispose();
    this.node.removeEventListener('click', this._handleClick);
    super.dispose();
  }

  private _handleClick = (): void => {
    this._onClick?.();
  };

  private _service: StatusService;
  private _label: HTMLSpanElement;
  private _poll: Poll;
  private _onClick: (() => void) | null;
}

/**
 * A namespace for `RayStatusItem` statics.
 */
export namespace RayStatusItem {
  /**
   * Options to create a `RayStatusItem`.
   */
  export interface IOptions {
    /**
     * The service used to fetch cluster snapshots.
     */
    service: StatusService;
    /**
     * Polling interval in milliseconds (default 5000).
     */
    interval?: number;
    /**
     * Called when the item is clicked.
     */
    onClick?: () => void;
  }
}

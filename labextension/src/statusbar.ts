import { Widget } from '@lumino/widgets';

import { formatClusterSummary, formatStatusText } from './format';
import type { ClusterModel } from './models/ClusterModel';
import type { JobsModel } from './models/JobsModel';
import { el } from './widgets/dom';

/** Text shown while the cluster cannot be reached. */
export const DISCONNECTED_TEXT = 'Ray: disconnected';

/** Text shown before the first snapshot arrives. */
export const CONNECTING_TEXT = 'Ray: …';

/**
 * Status bar item showing the free and total GPUs of the Ray cluster and
 * how many jobs run, e.g. `GPU 0/1 · 2 jobs running`.
 *
 * It renders the shared `ClusterModel` (pushed snapshots) and `JobsModel`
 * (running count); it does no fetching of its own.
 */
export class RayStatusItem extends Widget {
  /** Create the status bar item. */
  constructor(options: RayStatusItem.IOptions) {
    super();
    this.addClass('iog-StatusItem');
    this._cluster = options.cluster;
    this._jobs = options.jobs ?? null;
    this._label = el('span', { className: 'iog-StatusItem-label' });
    this.node.appendChild(this._label);
    const onClick = options.onClick;
    if (onClick) {
      this.addClass('iog-mod-clickable');
      this.node.setAttribute('role', 'button');
      this.node.tabIndex = 0;
      this.node.addEventListener('click', () => onClick());
      this.node.addEventListener('keydown', event => {
        if (event.key === 'Enter' || event.key === ' ') {
          event.preventDefault();
          onClick();
        }
      });
    }
    // Widget.dispose() disconnects these (Signal.clearData).
    this._cluster.changed.connect(this.render, this);
    this._jobs?.changed.connect(this.render, this);
    this.render();
  }

  /** The text currently displayed. */
  get text(): string {
    return this._label.textContent ?? '';
  }

  /** Render the models' current state into the label. */
  render(): void {
    const { snapshot, state, message } = this._cluster;
    const disconnected = state === 'disconnected';
    this.toggleClass('iog-mod-disconnected', disconnected);
    const [text, title] = disconnected
      ? [DISCONNECTED_TEXT, message || DISCONNECTED_TEXT]
      : !snapshot
        ? [CONNECTING_TEXT, 'Connecting to the Ray cluster']
        : [
            formatStatusText(snapshot, this._jobs?.runningCount ?? null),
            `${formatClusterSummary(snapshot)} — open the Ray sidebar`
          ];
    this._label.textContent = text;
    this.node.title = title;
  }

  private _cluster: ClusterModel;
  private _jobs: JobsModel | null;
  private _label: HTMLSpanElement;
}

/** A namespace for `RayStatusItem` statics. */
export namespace RayStatusItem {
  /** Options to create a `RayStatusItem`. */
  export interface IOptions {
    /** The cluster model (GPUs, connection state). */
    cluster: ClusterModel;
    /** The jobs model (running count); without it only GPUs are shown. */
    jobs?: JobsModel | null;
    /** Called when the item is clicked. */
    onClick?: () => void;
  }
}

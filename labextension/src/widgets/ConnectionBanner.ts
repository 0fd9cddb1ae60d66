import { Widget } from '@lumino/widgets';

import { ClusterModel } from '../models/ClusterModel';
import { setText } from './dom';

/**
 * The banner at the top of the Ray sidebar: whether the server reaches Ray
 * and, when not, the server's message.
 *
 * Its node is `div.iog-ConnectionBanner[role="status"]` with `data-state`
 * set to `connecting`, `connected` or `disconnected`; it follows the
 * `ClusterModel`, so it clears by itself when Ray answers again.
 */
export class ConnectionBanner extends Widget {
  constructor(options: ConnectionBanner.IOptions) {
    super();
    this.addClass('iog-ConnectionBanner');
    this.node.setAttribute('role', 'status');
    this._model = options.model;
    // Widget.dispose() disconnects it (Signal.clearData).
    this._model.changed.connect(this.render, this);
    this.render();
  }

  /** The banner's text. */
  get text(): string {
    return this.node.textContent ?? '';
  }

  /** Render the model's connection state. */
  render(): void {
    const { state, message, isPushed } = this._model;
    const text =
      state === 'disconnected'
        ? `Disconnected: ${message ?? ClusterModel.RAY_UNREACHABLE_MESSAGE}`
        : state === 'connected'
          ? `Connected to Ray${isPushed ? '' : ' (polling)'}`
          : 'Connecting to Ray…';
    this.node.dataset.state = state;
    for (const mod of ['connecting', 'connected', 'disconnected']) {
      this.toggleClass(`iog-mod-${mod}`, mod === state);
    }
    setText(this.node, text);
  }

  private _model: ClusterModel;
}

/** A namespace for `ConnectionBanner` statics. */
export namespace ConnectionBanner {
  /** Options to create a `ConnectionBanner`. */
  export interface IOptions {
    /** The cluster model whose state the banner shows. */
    model: ClusterModel;
  }
}

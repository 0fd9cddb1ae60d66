import { URLExt } from '@jupyterlab/coreutils';
import { Widget } from '@lumino/widgets';

import { DASHBOARD_PATH } from '../tokens';

/**
 * The Ray dashboard, read-only, in a sandboxed iframe.
 *
 * The frame loads `{baseUrl}iog/dashboard/`, the server's read-only proxy,
 * which redirects to a short-lived view-grant URL and marks every response
 * `Content-Security-Policy: sandbox`. The frame is sandboxed here as well,
 * with `allow-scripts` but without `allow-same-origin`: the dashboard's
 * JavaScript runs in an opaque origin, so it can neither read Jupyter's
 * cookies and XSRF token nor script JupyterLab, even if Ray's dashboard
 * rendered something hostile. `allow-popups` lets its external links open;
 * `referrerpolicy="no-referrer"` keeps the grant out of Referer headers.
 */
export class DashboardPanel extends Widget {
  /**
   * Create the panel.
   *
   * @param options The panel options.
   */
  constructor(options: DashboardPanel.IOptions) {
    super();
    this.addClass('iog-DashboardPanel');
    this.url = URLExt.join(options.baseUrl, DASHBOARD_PATH);
    const frame = document.createElement('iframe');
    frame.className = 'iog-DashboardPanel-frame';
    frame.setAttribute('sandbox', DashboardPanel.SANDBOX);
    frame.setAttribute('referrerpolicy', 'no-referrer');
    frame.title = 'Ray Dashboard (read-only)';
    frame.src = this.url;
    this.frame = frame;
    this.node.appendChild(frame);
  }

  /**
   * The dashboard proxy's URL the frame opens.
   */
  readonly url: string;

  /**
   * The iframe.
   */
  readonly frame: HTMLIFrameElement;

  /**
   * Load the dashboard again (a new view grant).
   */
  reload(): void {
    this.frame.src = this.url;
  }
}

/**
 * A namespace for `DashboardPanel` statics.
 */
export namespace DashboardPanel {
  /**
   * The iframe's sandbox flags: scripts and popups, never same-origin.
   */
  export const SANDBOX = 'allow-scripts allow-popups allow-downloads';

  /**
   * Options to create a `DashboardPanel`.
   */
  export interface IOptions {
    /**
     * The Jupyter server's base URL (`serverSettings.baseUrl`).
     */
    baseUrl: string;
  }
}

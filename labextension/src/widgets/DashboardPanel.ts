import { URLExt } from '@jupyterlab/coreutils';
import { Widget } from '@lumino/widgets';

import { DASHBOARD_PATH } from '../tokens';

/**
 * The Ray dashboard, read-only, in a sandboxed iframe.
 *
 * The frame loads `{baseUrl}iog/dashboard/`, the server's read-only proxy,
 * which redirects to a short-lived view-grant (capability) URL, answers it
 * with CORS headers for an opaque origin, and marks every response
 * `Content-Security-Policy: sandbox …`. The frame is sandboxed here as well
 * (`DashboardPanel.SANDBOX`), so the page is isolated even before the first
 * response arrives:
 *
 * - `allow-scripts`: the dashboard is a JavaScript application.
 * - no `allow-same-origin`: its scripts run in an opaque origin, so they can
 *   neither read Jupyter's cookies and XSRF token nor reach into JupyterLab
 *   (`window.parent`), and cannot call Jupyter's API as the user, even if
 *   Ray's dashboard rendered something hostile. The grant in the URL is the
 *   only credential the page has, and it is read-only.
 * - `allow-popups`: its external links (docs, Grafana) open in a new tab.
 * - `allow-downloads`: its "download log" buttons work; the server's CSP
 *   sandbox allows the same, and a sandbox only ever narrows.
 * - no `allow-forms`, `allow-top-navigation` or `allow-modals`.
 *
 * `referrerpolicy="no-referrer"` keeps the grant out of Referer headers.
 */
export class DashboardPanel extends Widget {
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

  /** The dashboard proxy's URL the frame opens. */
  readonly url: string;

  /** The iframe. */
  readonly frame: HTMLIFrameElement;

  /** Load the dashboard again (a new view grant). */
  reload(): void {
    this.frame.src = this.url;
  }
}

/** A namespace for `DashboardPanel` statics. */
export namespace DashboardPanel {
  /**
   * The iframe's sandbox flags: scripts, popups and downloads, never
   * `allow-same-origin` (see the class documentation).
   */
  export const SANDBOX = 'allow-scripts allow-popups allow-downloads';

  /** Options to create a `DashboardPanel`. */
  export interface IOptions {
    /** The Jupyter server's base URL (`serverSettings.baseUrl`). */
    baseUrl: string;
  }
}

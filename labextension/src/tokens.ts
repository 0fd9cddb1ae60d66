/** Identifiers shared across the iog-jupyter frontend. */

/**
 * Id of the main frontend plugin; also names its settings schema
 * (`schema/plugin.json`).
 */
export const PLUGIN_ID = 'iog-jupyter:plugin';

/**
 * URL namespace of the server extension's REST API, relative to the
 * Jupyter server's base URL.
 */
export const API_NAMESPACE = 'iog/api/v1';

/** Palette category under which iog commands are listed. */
export const COMMAND_CATEGORY = 'Ray';

/** Default refresh interval of the status bar item, in milliseconds. */
export const DEFAULT_REFRESH_INTERVAL_MS = 5000;

/** Smallest refresh interval accepted from the settings, in milliseconds. */
export const MIN_REFRESH_INTERVAL_MS = 1000;

/** Command ids registered by the iog-jupyter frontend. */
export namespace CommandIDs {
  /** Fetch the server status and show it in a dialog. */
  export const showStatus = 'iog:show-status';

  /** Show and activate the Ray sidebar. */
  export const openSidebar = 'iog:open-sidebar';

  /** Open a job's live log panel; args `{ submissionId: string }`. */
  export const openJobLog = 'iog:open-job-log';

  /** Open the read-only Ray dashboard in a main-area tab. */
  export const openDashboard = 'iog:open-dashboard';

  /** Open the job submission dialog. */
  export const submitJob = 'iog:submit-job';

  /** Stop a job after confirmation; args `{ submissionId: string }`. */
  export const stopJob = 'iog:stop-job';

  /**
   * Run a notebook as a Ray job after the `Run as Ray job` dialog; args
   * `{ path?: string, source?: 'file-browser' }` (default: the current
   * notebook, else the file browser's selection).
   */
  export const runNotebookAsJob = 'iog:run-notebook-as-job';

  /** Notify when a job ends; args `{ submissionId: string }`. */
  export const watchJob = 'iog:watch-job';

  /** Ask the server for a fresh cluster snapshot now. */
  export const refreshCluster = 'iog:refresh-cluster';
}

/** Id of the Ray sidebar widget in the left area. */
export const SIDEBAR_ID = 'iog-sidebar';

/** Id of the dashboard tab in the main area. */
export const DASHBOARD_ID = 'iog-dashboard';

/** Path of the read-only dashboard proxy, relative to the server's base URL. */
export const DASHBOARD_PATH = 'iog/dashboard/';

/** Default number of log lines the job log panel keeps in the page. */
export const DEFAULT_LOG_MAX_LINES = 10000;

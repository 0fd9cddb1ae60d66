/**
 * Identifiers shared across the iog-jupyter frontend.
 */

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

/**
 * Palette category under which iog commands are listed.
 */
export const COMMAND_CATEGORY = 'Ray';

/**
 * Default refresh interval of the status bar item, in milliseconds.
 */
export const DEFAULT_REFRESH_INTERVAL_MS = 5000;

/**
 * Smallest refresh interval accepted from the settings, in milliseconds.
 */
export const MIN_REFRESH_INTERVAL_MS = 1000;

/**
 * Command ids registered by the iog-jupyter frontend.
 */
export namespace CommandIDs {
  /**
   * Fetch the server status and show it in a dialog.
   */
  export const showStatus = 'iog:show-status';
}

import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { requestAPI } from './request';
import type { IClusterHistory, IClusterSnapshot, IStatus } from './types';

/**
 * Read-only client of the server extension's status and cluster endpoints
 * (`GET status`, `GET cluster`, `GET cluster/history`).
 */
export class StatusService {
  /**
   * Create a new status service.
   *
   * @param options The service options.
   */
  constructor(options: StatusService.IOptions = {}) {
    this.serverSettings =
      options.serverSettings ?? ServerConnection.makeSettings();
  }

  /**
   * The server settings used for every request.
   */
  readonly serverSettings: ServerConnection.ISettings;

  /**
   * Fetch the server extension's status (`GET status`).
   *
   * @returns The status document.
   */
  getStatus(): Promise<IStatus> {
    return requestAPI<IStatus>('status', {}, this.serverSettings);
  }

  /**
   * Fetch a snapshot of the Ray cluster's resources (`GET cluster`).
   *
   * @returns The cluster snapshot.
   */
  getCluster(): Promise<IClusterSnapshot> {
    return requestAPI<IClusterSnapshot>('cluster', {}, this.serverSettings);
  }

  /**
   * Fetch the cluster's resource history (`GET cluster/history`).
   *
   * @param sinceMs Only points newer than this epoch time in milliseconds.
   * @returns The history points, oldest first.
   */
  getClusterHistory(sinceMs?: number): Promise<IClusterHistory> {
    const query =
      sinceMs === undefined
        ? ''
        : URLExt.objectToQueryString({ since_ms: String(Math.floor(sinceMs)) });
    return requestAPI<IClusterHistory>(
      `cluster/history${query}`,
      {},
      this.serverSettings
    );
  }
}

/**
 * A namespace for `StatusService` statics.
 */
export namespace StatusService {
  /**
   * Options to create a `StatusService`.
   */
  export interface IOptions {
    /**
     * Server settings; defaults to `ServerConnection.makeSettings()`.
     */
    serverSettings?: ServerConnection.ISettings;
  }
}

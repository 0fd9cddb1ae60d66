import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { requestAPI } from './request';
import type { ClusterHistory, ClusterSnapshot, Status } from './types';

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
  getStatus(): Promise<Status> {
    return requestAPI<Status>('status', {}, this.serverSettings);
  }

  /**
   * Fetch a snapshot of the Ray cluster's resources (`GET cluster`).
   *
   * @returns The cluster snapshot.
   */
  getCluster(): Promise<ClusterSnapshot> {
    return requestAPI<ClusterSnapshot>('cluster', {}, this.serverSettings);
  }

  /**
   * Fetch the cluster's resource history (`GET cluster/history`).
   *
   * @param sinceMs Only points newer than this epoch time in milliseconds.
   * @returns The history points, oldest first.
   */
  getClusterHistory(sinceMs?: number): Promise<ClusterHistory> {
    const query =
      sinceMs === undefined
        ? ''
        : URLExt.objectToQueryString({ since_ms: String(Math.floor(sinceMs)) });
    return requestAPI<ClusterHistory>(
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

import { ServerConnection } from '@jupyterlab/services';

import { requestAPI } from './request';
import type { ClusterSnapshot, Status } from './types';

/**
 * Read-only client of the server extension's status and cluster endpoints
 * (`GET status`, `GET cluster`).
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

import { ServerConnection } from '@jupyterlab/services';

import { encodePathSegment, queryString } from './path';
import { requestAPI } from './request';
import type {
  DeleteReply,
  JobListQuery,
  JobPage,
  JobRecord,
  StopReply,
  SubmitReply,
  SubmitRequest,
  JobStatus
} from './types';

/**
 * Client of the server extension's jobs endpoints, one method per endpoint.
 *
 * Every method rejects with an `IogResponseError` (carrying the server's
 * message) when the server answers with an error, or with a
 * `ServerConnection.NetworkError` when it cannot be reached.
 */
export class JobsService {
  /**
   * Create a new jobs service.
   *
   * @param options The service options.
   */
  constructor(options: JobsService.IOptions = {}) {
    this.serverSettings =
      options.serverSettings ?? ServerConnection.makeSettings();
  }

  /**
   * The server settings used for every request.
   */
  readonly serverSettings: ServerConnection.ISettings;

  /**
   * Fetch one page of jobs, newest first (`GET jobs`).
   *
   * @param query The status filter, page size and cursor.
   * @returns The page, its next cursor and the number of matching jobs.
   */
  listJobs(query: JobListQuery = {}): Promise<JobPage> {
    const search = queryString({
      status: query.status?.length ? query.status.join(',') : undefined,
      limit: query.limit,
      cursor: query.cursor
    });
    return requestAPI<JobPage>(`jobs${search}`, {}, this.serverSettings);
  }

  /**
   * Submit a job (`POST jobs`).
   *
   * @param request The submission.
   * @returns The new job's submission id.
   */
  submitJob(request: SubmitRequest): Promise<SubmitReply> {
    return requestAPI<SubmitReply>(
      'jobs',
      {
        method: 'POST',
        body: JSON.stringify(request),
        headers: { 'Content-Type': 'application/json' }
      },
      this.serverSettings
    );
  }

  /**
   * Fetch one job (`GET jobs/{submission_id}`).
   *
   * @param submissionId The job's submission id.
   * @returns The job.
   */
  getJob(submissionId: string): Promise<JobRecord> {
    return requestAPI<JobRecord>(
      `jobs/${encodePathSegment(submissionId)}`,
      {},
      this.serverSettings
    );
  }

  /**
   * Stop a job (`POST jobs/{submission_id}/stop`); idempotent on ended jobs.
   *
   * @param submissionId The job's submission id.
   * @returns Whether a stop was requested.
   */
  stopJob(submissionId: string): Promise<StopReply> {
    return requestAPI<StopReply>(
      `jobs/${encodePathSegment(submissionId)}/stop`,
      { method: 'POST' },
      this.serverSettings
    );
  }

  /**
   * Delete an ended job's record and logs (`DELETE jobs/{submission_id}`).
   *
   * @param submissionId The job's submission id.
   * @returns Whether the record was deleted.
   */
  deleteJob(submissionId: string): Promise<DeleteReply> {
    return requestAPI<DeleteReply>(
      `jobs/${encodePathSegment(submissionId)}`,
      { method: 'DELETE' },
      this.serverSettings
    );
  }
}

/**
 * A namespace for `JobsService` statics.
 */
export namespace JobsService {
  /**
   * Options to create a `JobsService`.
   */
  export interface IOptions {
    /**
     * Server settings; defaults to `ServerConnection.makeSettings()`.
     */
    serverSettings?: ServerConnection.ISettings;
  }

  /**
   * Every job status, in the order the status filter lists them.
   */
  export const STATUSES: ReadonlyArray<JobStatus> = [
    'PENDING',
    'RUNNING',
    'SUCCEEDED',
    'FAILED',
    'STOPPED'
  ];

  /**
   * Whether a job status is final (as Ray's `JobStatus.is_terminal()`).
   *
   * @param status The status.
   * @returns True for `STOPPED`, `SUCCEEDED` and `FAILED`.
   */
  export function isTerminal(status: string): boolean {
    return (
      status === 'STOPPED' || status === 'SUCCEEDED' || status === 'FAILED'
    );
  }
}

import { JobsService } from '../api/services';
import type {
  DeleteReply,
  JobPage,
  JobRecord,
  StopReply,
  SubmitReply,
  SubmitRequest,
  JobStatus
} from '../api/types';
import type { ChangeFeed } from './ChangeFeed';
import { CursorPager } from './CursorPager';
import { PolledModel } from './PolledModel';

/**
 * The jobs list of the sidebar: one page of jobs, newest first, filtered by
 * status on the server, plus the number of running jobs for the status bar.
 *
 * It polls `GET jobs` and refreshes at once on a `jobs` push.
 */
export class JobsModel extends PolledModel<JobsModel.IFetched> {
  /**
   * Create the model and start polling.
   *
   * @param options The model options.
   */
  constructor(options: JobsModel.IOptions) {
    super({ ...options, topic: 'jobs' });
    this.service = options.service;
    this.pageSize = options.pageSize ?? JobsModel.DEFAULT_PAGE_SIZE;
  }

  /**
   * The service the model fetches through.
   */
  readonly service: JobsService;

  /**
   * How many jobs one page holds.
   */
  readonly pageSize: number;

  /**
   * The jobs of the current page, newest first.
   */
  get jobs(): ReadonlyArray<JobRecord> {
    return this._page?.jobs ?? [];
  }

  /**
   * The current page as the server sent it; null before the first fetch.
   */
  get page(): JobPage | null {
    return this._page;
  }

  /**
   * How many jobs match the filter; null before the first fetch.
   */
  get total(): number | null {
    return this._page ? this._page.total : null;
  }

  /**
   * How many jobs are RUNNING; null before the first fetch.
   */
  get runningCount(): number | null {
    return this._runningCount;
  }

  /**
   * The status filter; null shows every job.
   */
  get statusFilter(): JobStatus | null {
    return this._statusFilter;
  }

  /**
   * The 0-based index of the current page.
   */
  get pageIndex(): number {
    return this._pager.index;
  }

  /**
   * Whether a newer page exists.
   */
  get hasNewer(): boolean {
    return this._pager.hasNewer;
  }

  /**
   * Whether an older page exists.
   */
  get hasOlder(): boolean {
    return !!this._page?.next_cursor;
  }

  /**
   * Show only jobs with this status (null: all), from the first page.
   *
   * @param status The status to keep.
   * @returns A promise resolved once the page is fetched.
   */
  setStatusFilter(status: JobStatus | null): Promise<void> {
    if (status === this._statusFilter) {
      return Promise.resolve();
    }
    this._statusFilter = status;
    this._pager.reset();
    this.emitChanged();
    return this.refresh();
  }

  /**
   * Show the next (older) page, if any.
   *
   * @returns A promise resolved once the page is fetched.
   */
  older(): Promise<void> {
    if (!this._pager.older(this._page?.next_cursor ?? null)) {
      return Promise.resolve();
    }
    return this.refresh();
  }

  /**
   * Show the previous (newer) page, if any.
   *
   * @returns A promise resolved once the page is fetched.
   */
  newer(): Promise<void> {
    if (!this._pager.newer()) {
      return Promise.resolve();
    }
    return this.refresh();
  }

  /**
   * Submit a job, then refresh the list.
   *
   * @param request The submission.
   * @returns The new job's id.
   * @throws {IogResponseError} When the server refuses the submission.
   */
  async submit(request: SubmitRequest): Promise<SubmitReply> {
    const reply = await this.service.submitJob(request);
    void this.refresh();
    return reply;
  }

  /**
   * Stop a job, then refresh the list.
   *
   * @param submissionId The job's submission id.
   * @returns Whether a stop was requested.
   * @throws {IogResponseError} When the server refuses.
   */
  async stop(submissionId: string): Promise<StopReply> {
    const reply = await this.service.stopJob(submissionId);
    void this.refresh();
    return reply;
  }

  /**
   * Delete an ended job, then refresh the list.
   *
   * @param submissionId The job's submission id.
   * @returns Whether the record was deleted.
   * @throws {IogResponseError} When the server refuses (409 while running).
   */
  async delete(submissionId: string): Promise<DeleteReply> {
    const reply = await this.service.deleteJob(submissionId);
    void this.refresh();
    return reply;
  }

  /**
   * Fetch the current page and, unless the page itself tells, the number of
   * running jobs.
   *
   * @returns Both results.
   */
  protected async fetch(): Promise<JobsModel.IFetched> {
    const cursor = this._pager.cursor;
    const status = this._statusFilter;
    const pageRequest = this.service.listJobs({
      status: status ? [status] : undefined,
      limit: this.pageSize,
      cursor
    });
    const countRequest =
      status === 'RUNNING'
        ? null
        : this.service.listJobs({ status: ['RUNNING'], limit: 1 });
    const [page, running] = await Promise.all([pageRequest, countRequest]);
    return { page, runningCount: running ? running.total : page.total };
  }

  /**
   * Store a fetched page.
   *
   * @param data The page and the running count.
   */
  protected apply(data: JobsModel.IFetched): void {
    this._page = data.page;
    this._runningCount = data.runningCount;
  }

  private _page: JobPage | null = null;
  private _runningCount: number | null = null;
  private _statusFilter: JobStatus | null = null;
  private _pager = new CursorPager();
}

/**
 * A namespace for `JobsModel` statics.
 */
export namespace JobsModel {
  /**
   * Jobs per page by default.
   */
  export const DEFAULT_PAGE_SIZE = 50;

  /**
   * Options to create a `JobsModel`.
   */
  export interface IOptions {
    /**
     * The service to fetch through.
     */
    service: JobsService;
    /**
     * The push channel; without one the model only polls.
     */
    feed?: ChangeFeed | null;
    /**
     * Polling interval in milliseconds.
     */
    refreshIntervalMs?: number;
    /**
     * Jobs per page (default 50).
     */
    pageSize?: number;
    /**
     * Whether to start polling at once (default true).
     */
    autoStart?: boolean;
  }

  /**
   * What one fetch returns.
   */
  export interface IFetched {
    /**
     * The current page.
     */
    page: JobPage;
    /**
     * How many jobs are RUNNING.
     */
    runningCount: number;
  }
}

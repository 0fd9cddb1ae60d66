import type { JobsService } from '../api/services';
import type {
  DeleteReply,
  JobPage,
  JobRecord,
  JobStatus,
  StopReply,
  SubmitReply,
  SubmitRequest
} from '../api/types';
import { PagedModel } from './PagedModel';

/**
 * The jobs list of the sidebar: one page of jobs, newest first, filtered by
 * status on the server, plus the number of running jobs for the status bar.
 *
 * It polls `GET jobs` and refreshes at once on a `jobs` push.
 */
export class JobsModel extends PagedModel<
  JobPage,
  JobsService,
  JobsModel.IFetched
> {
  /** Create the model and start polling. */
  constructor(options: JobsModel.IOptions) {
    super({ ...options, topic: 'jobs' });
  }

  /** The jobs of the current page, newest first. */
  get jobs(): ReadonlyArray<JobRecord> {
    return this.data?.page.jobs ?? [];
  }

  /** The current page as the server sent it; null before the first fetch. */
  get page(): JobPage | null {
    return this.data?.page ?? null;
  }

  /** How many jobs are RUNNING; null before the first fetch. */
  get runningCount(): number | null {
    return this.data?.runningCount ?? null;
  }

  /** The status filter; null shows every job. */
  get statusFilter(): JobStatus | null {
    return this._statusFilter;
  }

  /** Show only jobs with this status (null: all), from the first page. */
  setStatusFilter(status: JobStatus | null): Promise<void> {
    if (status === this._statusFilter) {
      return Promise.resolve();
    }
    this._statusFilter = status;
    return this.restart();
  }

  /**
   * Submit a job, then refresh the list.
   *
   * @throws {IogResponseError} When the server refuses the submission.
   */
  submit(request: SubmitRequest): Promise<SubmitReply> {
    return this.thenRefresh(this.service.submitJob(request));
  }

  /** Stop a job, then refresh the list. */
  stop(submissionId: string): Promise<StopReply> {
    return this.thenRefresh(this.service.stopJob(submissionId));
  }

  /**
   * Delete an ended job, then refresh the list.
   *
   * @throws {IogResponseError} When the server refuses (409 while running).
   */
  delete(submissionId: string): Promise<DeleteReply> {
    return this.thenRefresh(this.service.deleteJob(submissionId));
  }

  /**
   * Fetch the current page and, unless the page itself tells, the number of
   * running jobs.
   */
  protected async fetch(): Promise<JobsModel.IFetched> {
    const status = this._statusFilter;
    const pageRequest = this.service.listJobs({
      status: status ? [status] : undefined,
      limit: this.pageSize,
      cursor: this.cursor
    });
    const countRequest =
      status === 'RUNNING'
        ? null
        : this.service.listJobs({ status: ['RUNNING'], limit: 1 });
    const [page, running] = await Promise.all([pageRequest, countRequest]);
    return { page, runningCount: running ? running.total : page.total };
  }

  private _statusFilter: JobStatus | null = null;
}

/** A namespace for `JobsModel` statics. */
export namespace JobsModel {
  /** Options to create a `JobsModel`. */
  export type IOptions = PagedModel.IOptions<JobsService>;

  /** What one fetch returns. */
  export interface IFetched {
    /** The current page. */
    page: JobPage;
    /** How many jobs are RUNNING. */
    runningCount: number;
  }
}

import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { requestAPI } from './request';
import type { paths } from './schema';
import { IogSocket } from './socket';
import type {
  ActorKillReply,
  ActorListQuery,
  ActorPage,
  ClusterSnapshot,
  DeleteReply,
  JobListQuery,
  JobPage,
  JobRecord,
  JobStatus,
  LogPage,
  NotebookSubmitReply,
  NotebookSubmitRequest,
  ReleaseReply,
  SessionList,
  Status,
  StopReply,
  SubmitReply,
  SubmitRequest,
  UsageQuery,
  UsageReport
} from './types';

/**
 * Encode one path segment of an API URL.
 *
 * `encodeURIComponent` leaves `.` alone, and `URLExt.join` would resolve a
 * `.` or `..` segment, so the dots of such a segment are percent-encoded too:
 * the server still receives the literal name.
 *
 * @param value The raw segment (a job id, an actor's namespace or name, ...).
 * @returns The encoded segment, never containing `/` and never `.` or `..`.
 */
export function encodePathSegment(value: string): string {
  const encoded = encodeURIComponent(value);
  return encoded === '.' || encoded === '..'
    ? encoded.replace(/\./g, '%2E')
    : encoded;
}

/** The values a query parameter may take; unset ones are left out. */
export type QueryParams = Record<
  string,
  string | number | boolean | null | undefined
>;

/**
 * Build a query string from the parameters that are set.
 *
 * Empty strings, `null` and `undefined` are left out, because the server
 * refuses unknown or empty filters rather than ignoring them.
 *
 * @returns `?a=1&b=2`, or `''` when no parameter is set.
 */
export function queryString(params: QueryParams): string {
  const kept: Record<string, string> = {};
  for (const [key, value] of Object.entries(params)) {
    if (value !== null && value !== undefined && value !== '') {
      kept[key] = String(value);
    }
  }
  return URLExt.objectToQueryString(kept);
}

/**
 * A route of the API as the OpenAPI document names it (`/jobs/{submission_id}`).
 */
export type Route = keyof paths;

/** The methods a route answers (`'get'`, `'post'`, `'delete'`). */
export type MethodOf<R extends Route> = {
  [M in 'get' | 'post' | 'delete']: paths[R][M] extends { responses: object }
    ? M
    : never;
}['get' | 'post' | 'delete'];

/** The operation of a route and method in the generated `paths`. */
type Operation<R extends Route, M extends MethodOf<R>> = paths[R][M];

/** The JSON content of a request body or response. */
type Json<T> = T extends { content: { 'application/json': infer J } }
  ? J
  : never;

/**
 * The path parameters, query and JSON body of a call, typed by its operation.
 */
export type CallArgs<O> = {
  path?: O extends { parameters: { path: infer P } } ? P : never;
  query?: O extends { parameters: { query?: infer Q } } ? Q : never;
  body?: O extends { requestBody: infer B } ? Json<B> : never;
};

/** The JSON document of an operation's success (200 or 201) answer. */
export type Reply<O> = O extends { responses: infer R }
  ? Json<R[200 & keyof R] | R[201 & keyof R]>
  : never;

/**
 * Fill in the path parameters of a route: `/jobs/{submission_id}` and
 * `{submission_id: 'a b'}` give `jobs/a%20b`, relative to the API root.
 */
export function routePath(
  route: Route,
  params: Record<string, string> = {}
): string {
  return route
    .slice(1)
    .replace(/\{(\w+)\}/g, (_, name: string) =>
      encodePathSegment(params[name])
    );
}

/**
 * Base of the REST clients: the server settings they call with. Every
 * method rejects with an `IogResponseError` (carrying the server's message)
 * when the server answers with an error, or with a
 * `ServerConnection.NetworkError` when it cannot be reached.
 */
export class ApiService {
  /** Create a service. */
  constructor(options: ApiService.IOptions = {}) {
    this.serverSettings =
      options.serverSettings ?? ServerConnection.makeSettings();
  }

  /** The server settings used for every request and socket. */
  readonly serverSettings: ServerConnection.ISettings;

  /**
   * Call one operation of the API through `requestAPI`, typed by the
   * generated `paths`: its path parameters are encoded, unset query
   * parameters left out, and a body sent as JSON.
   */
  protected call<R extends Route, M extends MethodOf<R>>(
    method: M,
    route: R,
    args: CallArgs<Operation<R, M>> = {}
  ): Promise<Reply<Operation<R, M>>> {
    const { path, query, body } = args as {
      path?: Record<string, string>;
      query?: QueryParams;
      body?: unknown;
    };
    const init: RequestInit =
      method === 'get' ? {} : { method: method.toUpperCase() };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers = { 'Content-Type': 'application/json' };
    }
    const endPoint = routePath(route, path) + queryString(query ?? {});
    return requestAPI(endPoint, init, this.serverSettings);
  }
}

/** A namespace for `ApiService` statics. */
export namespace ApiService {
  /** Options to create a service. */
  export interface IOptions {
    /** Server settings; defaults to `ServerConnection.makeSettings()`. */
    serverSettings?: ServerConnection.ISettings;
  }
}

/** Read-only client of the status and cluster endpoints. */
export class StatusService extends ApiService {
  /** Fetch the server extension's status (`GET status`). */
  getStatus(): Promise<Status> {
    return this.call('get', '/status');
  }

  /** Fetch a snapshot of the Ray cluster's resources (`GET cluster`). */
  getCluster(): Promise<ClusterSnapshot> {
    return this.call('get', '/cluster');
  }
}

/** Client of the jobs endpoints. */
export class JobsService extends ApiService {
  /** Fetch one page of jobs, newest first (`GET jobs`). */
  listJobs(query: JobListQuery = {}): Promise<JobPage> {
    const { status, limit, cursor } = query;
    return this.call('get', '/jobs', {
      query: { status: status?.join(','), limit, cursor }
    });
  }

  /** Submit a job (`POST jobs`); the reply holds its submission id. */
  submitJob(request: SubmitRequest): Promise<SubmitReply> {
    return this.call('post', '/jobs', { body: request });
  }

  /** Fetch one job (`GET jobs/{submission_id}`). */
  getJob(submissionId: string): Promise<JobRecord> {
    const path = { submission_id: submissionId };
    return this.call('get', '/jobs/{submission_id}', { path });
  }

  /**
   * Stop a job (`POST jobs/{submission_id}/stop`); idempotent on ended jobs.
   */
  stopJob(submissionId: string): Promise<StopReply> {
    const path = { submission_id: submissionId };
    return this.call('post', '/jobs/{submission_id}/stop', { path });
  }

  /** Delete an ended job's record and logs (`DELETE jobs/{submission_id}`). */
  deleteJob(submissionId: string): Promise<DeleteReply> {
    const path = { submission_id: submissionId };
    return this.call('delete', '/jobs/{submission_id}', { path });
  }
}

/** A namespace for `JobsService` statics. */
export namespace JobsService {
  /** Every job status, in the order the status filter lists them. */
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
   * @returns True for `STOPPED`, `SUCCEEDED` and `FAILED`.
   */
  export function isTerminal(status: string): boolean {
    return ['STOPPED', 'SUCCEEDED', 'FAILED'].includes(status);
  }
}

/** Client of a job's log endpoints: byte pages over REST and the live tail. */
export class LogsService extends ApiService {
  /** Fetch a byte page of a job's log (`GET jobs/{id}/logs`). */
  getLogPage(
    submissionId: string,
    offset: number,
    limitBytes: number
  ): Promise<LogPage> {
    return this.call('get', '/jobs/{submission_id}/logs', {
      path: { submission_id: submissionId },
      query: { offset, limit_bytes: limitBytes }
    });
  }

  /**
   * Open the live tail of a job's log (`WS jobs/{id}/logs/tail?offset=`).
   *
   * @param offset Called before every (re)connect for the byte offset to
   *   resume from.
   * @returns The socket; its messages are `LogTailMessage`s.
   */
  tail(submissionId: string, offset: () => number): IogSocket {
    return new IogSocket({
      path: routePath('/jobs/{submission_id}/logs/tail', {
        submission_id: submissionId
      }),
      params: () => ({ offset: String(offset()) }),
      serverSettings: this.serverSettings,
      maxDelayMs: 10000
    });
  }
}

/** Client of the sessions endpoints. */
export class SessionsService extends ApiService {
  /**
   * Fetch the notebook sessions that are Ray drivers, and the idle policy
   * (`GET sessions`).
   */
  listSessions(): Promise<SessionList> {
    return this.call('get', '/sessions');
  }

  /**
   * Release what a session holds: its non-detached actors and running tasks
   * (`POST sessions/{session_id}/release`).
   *
   * @param sessionId The session's Ray job id or kernel id.
   */
  releaseSession(sessionId: string): Promise<ReleaseReply> {
    const path = { session_id: sessionId };
    return this.call('post', '/sessions/{session_id}/release', { path });
  }
}

/** Client of the actors endpoints. */
export class ActorsService extends ApiService {
  /** Fetch one page of named actors (`GET actors`). */
  listActors(query: ActorListQuery = {}): Promise<ActorPage> {
    const { detached, namespace, state, limit, cursor } = query;
    return this.call('get', '/actors', {
      query: { detached, namespace, state: state?.join(','), limit, cursor }
    });
  }

  /** Kill a named actor (`DELETE actors/{namespace}/{name}`). */
  killActor(namespace: string, name: string): Promise<ActorKillReply> {
    const path = { namespace, name };
    return this.call('delete', '/actors/{namespace}/{name}', { path });
  }
}

/** Client of the notebook jobs endpoint. */
export class NotebookJobsService extends ApiService {
  /**
   * Run a notebook as a Ray job (`POST notebook-jobs`); the reply holds the
   * job's submission id and where the executed copy will be written.
   */
  submit(request: NotebookSubmitRequest): Promise<NotebookSubmitReply> {
    return this.call('post', '/notebook-jobs', { body: request });
  }
}

/** Client of the usage endpoint. */
export class UsageService extends ApiService {
  /**
   * Fetch what each user, session or job held in a window (`GET usage`):
   * one row per group, most GPU-seconds first.
   */
  get(query: UsageQuery = {}): Promise<UsageReport> {
    return this.call('get', '/usage', { query });
  }
}

/**
 * The JSON documents of the iog server extension's API, as aliases of the
 * components of its OpenAPI document. `schema.d.ts` is generated from
 * `openapi.json` by `jlpm gen:api` (scripts/gen-api.sh); never edit it.
 *
 * Keys are exactly as the server sends them (snake_case). Code reads answer
 * fields the same whether the document marks them optional or required and
 * nullable: `?? fallback` and truthiness checks, never `!== undefined`.
 */
import type { components, paths } from './schema';

type Schemas = components['schemas'];

/**
 * Resource quantities keyed by Ray resource name (`CPU`, `GPU`, `memory`,
 * custom resources, ...).
 */
export type ResourceMap = Record<string, number>;

/** Response of `GET status`. */
export type Status = Schemas['Status'];

/**
 * Response of `GET cluster`, also the `data` of the `cluster/subscribe`
 * snapshot messages.
 */
export type ClusterSnapshot = Schemas['ClusterSnapshot'];

/**
 * A `delta` message of `cluster/subscribe?deltas=1`: what changed since the
 * snapshot numbered `seq - 1` (nodes and pools by key, changed fields whole).
 */
export type ClusterDelta = Schemas['ClusterDeltaMessage'];

/** The resources of one node pool. */
export type Pool = Schemas['PoolSummary'];

/**
 * A resource demand the cluster cannot serve yet (pending) or ever
 * (infeasible).
 */
export type ResourceDemand = Schemas['ResourceDemand'];

/** One job, as `GET jobs` and `GET jobs/{submission_id}` send it. */
export type JobRecord = Schemas['JobRecord'];

/** A Ray job status, in Ray's words. */
export type JobStatus = JobRecord['status'];

/** Response of `GET jobs`: one page, newest first. */
export type JobPage = Schemas['JobPage'];

/** Body of `POST jobs`. */
export type SubmitRequest = Schemas['SubmitRequest'];

/** Response of `POST jobs`. */
export type SubmitReply = Schemas['SubmitReply'];

/** Request body of `POST notebook-jobs`: run a notebook as a Ray job. */
export type NotebookSubmitRequest = Schemas['NotebookSubmitRequest'];

/** Response of `POST notebook-jobs`: the job id and the executed copy's path. */
export type NotebookSubmitReply = Schemas['NotebookSubmitReply'];

/** Response of `GET usage`: held GPU/CPU/memory-seconds per user, session or job. */
export type UsageReport = Schemas['UsageReport'];

/** One row of a usage report. */
export type UsageRow = Schemas['UsageRow'];

/** Query of `GET usage`. */
export type UsageQuery = paths['/usage']['get']['parameters']['query'];

/** Response of `POST jobs/{submission_id}/stop`. */
export type StopReply = Schemas['StopReply'];

/** Response of `DELETE jobs/{submission_id}`. */
export type DeleteReply = Schemas['DeleteReply'];

/** One byte page of a job's log (`GET jobs/{id}/logs`). */
export type LogPage = Schemas['LogPage'];

/**
 * One Ray driver (notebook kernel, job or script), as `GET sessions` sends it.
 */
export type SessionRecord = Schemas['SessionRecord'];

/** Response of `GET sessions`. */
export type SessionList = Schemas['SessionList'];

/** The idle policy's configuration. */
export type SessionPolicy = SessionList['policy'];

/** Response of `POST sessions/{session_id}/release`. */
export type ReleaseReply = Schemas['ReleaseResult'];

/** One named actor, as `GET actors` sends it. */
export type ActorRecord = Schemas['ActorRecord'];

/** A Ray actor state, in Ray's words. */
export type ActorState = ActorRecord['state'];

/** Response of `GET actors`. */
export type ActorPage = Schemas['ActorPage'];

/** Response of `DELETE actors/{namespace}/{name}`. */
export type ActorKillReply = Schemas['ActorKillReply'];

/** Error body sent by the server with a non-2xx status. */
export type ErrorBody = Schemas['Error'];

/** The query of a paged `GET` list route. */
type ListQuery<P extends '/jobs' | '/actors'> = NonNullable<
  paths[P]['get']['parameters']['query']
>;

/** Query of `GET jobs`; the statuses are sent comma-separated. */
export type JobListQuery = Omit<ListQuery<'/jobs'>, 'status' | 'cursor'> & {
  status?: JobStatus[];
  cursor?: string | null;
};

/** Query of `GET actors`; the states are sent comma-separated. */
export type ActorListQuery = Omit<ListQuery<'/actors'>, 'state' | 'cursor'> & {
  state?: ActorState[];
  cursor?: string | null;
};

/** A topic of the `events/subscribe` websocket. */
export type EventTopic = Schemas['ChangedMessage']['topic'];

/** A message of the log tail websocket (`WS jobs/{id}/logs/tail`). */
export type LogTailMessage =
  Schemas['LogMessage'] | Schemas['JobStatusMessage'] | Schemas['ErrorMessage'];

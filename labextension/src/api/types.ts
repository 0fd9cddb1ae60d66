/**
 * Shapes of the JSON documents returned by the iog server extension.
 *
 * Keys are kept exactly as the server sends them (snake_case).
 */

/**
 * Resource quantities keyed by Ray resource name (`CPU`, `GPU`,
 * `memory`, `object_store_memory`, custom resources, ...).
 */
export interface IResourceMap {
  [resource: string]: number;
}

/**
 * Connection state of the server extension to the Ray cluster.
 */
export interface IRayConnection {
  /**
   * Whether the server is currently connected to Ray.
   */
  connected: boolean;
  /**
   * The GCS address in use, if any.
   */
  address?: string | null;
  /**
   * How the server authenticates to Ray (e.g. `token`).
   */
  auth_mode?: string | null;
  /**
   * URL of the Ray dashboard, if known.
   */
  dashboard?: string | null;
  /**
   * The installed Ray's version.
   */
  version?: string;
  /**
   * What the installed Ray can do; `notes` says what degrades on it.
   */
  capabilities?: IRayCapabilities;
}

/**
 * The features that differ between Ray 2.40 and the newest (`GET status`).
 */
export interface IRayCapabilities {
  /**
   * Ray's version.
   */
  version: string;
  /**
   * Ray has token authentication (Ray >= 2.52).
   */
  token_auth: boolean;
  /**
   * The GCS reports node labels (else pools come from custom resources).
   */
  node_labels: boolean;
  /**
   * One sentence for each feature this Ray lacks.
   */
  notes: string[];
}

/**
 * Response of `GET {baseUrl}iog/api/v1/status`.
 */
export interface IStatus {
  /**
   * Version of the iog-jupyter server extension.
   */
  version: string;
  /**
   * Ray connection state.
   */
  ray: IRayConnection;
  /**
   * Last error the server met while talking to Ray, or null.
   */
  last_error: string | null;
  /**
   * The jobs backend in use (`ray` or `local`).
   */
  jobs_backend?: string | null;
  /**
   * When the cluster was last polled (ISO-8601), if ever.
   */
  last_update?: string | null;
  /**
   * The server's cluster poll interval, in seconds.
   */
  refresh_interval_s?: number;
}

/**
 * Live usage of one GPU of a node, when the server measures it.
 */
export interface IGpuUsage {
  /**
   * GPU index on the node.
   */
  index: number;
  /**
   * GPU model name.
   */
  name: string;
  /**
   * Utilisation in percent, if known.
   */
  utilization_percent: number | null;
  /**
   * Memory used, in bytes, if known.
   */
  memory_used_bytes: number | null;
  /**
   * Memory size, in bytes, if known.
   */
  memory_total_bytes: number | null;
}

/**
 * Live usage of one node, when the server measures it.
 */
export interface INodeUsage {
  /**
   * CPU utilisation in percent.
   */
  cpu_percent?: number | null;
  /**
   * Memory used, in bytes.
   */
  memory_used_bytes?: number | null;
  /**
   * Memory size, in bytes.
   */
  memory_total_bytes?: number | null;
  /**
   * Object store memory used, in bytes.
   */
  object_store_used_bytes?: number | null;
  /**
   * Number of Ray worker processes.
   */
  num_workers?: number | null;
  /**
   * Per-GPU usage.
   */
  gpus?: IGpuUsage[];
}

/**
 * The state of a node as the autoscaler reports it.
 */
export type NodeState = 'ACTIVE' | 'IDLE' | 'PENDING' | 'DEAD';

/**
 * One Ray node as reported by `GET cluster`.
 */
export interface INodeSnapshot {
  /**
   * Ray node id.
   */
  node_id: string;
  /**
   * Display name of the node (its IP address or a short id).
   */
  node_name?: string;
  /**
   * Node IP address.
   */
  node_ip?: string;
  /**
   * Whether this is the head node.
   */
  is_head?: boolean;
  /**
   * The node's state; `ACTIVE` and `IDLE` nodes are alive.
   */
  state: NodeState | string;
  /**
   * The node pool the node belongs to.
   */
  pool: string;
  /**
   * The node's Ray labels.
   */
  labels?: Record<string, string>;
  /**
   * Total resources of the node.
   */
  resources_total: IResourceMap;
  /**
   * Available resources of the node.
   */
  resources_available: IResourceMap;
  /**
   * How long the node has been idle, in milliseconds.
   */
  idle_ms?: number | null;
  /**
   * Live usage, when measured.
   */
  usage?: INodeUsage | null;
}

/**
 * A resource demand the cluster cannot serve yet (pending) or ever
 * (infeasible).
 */
export interface IResourceDemand {
  /**
   * The resources one unit asks for.
   */
  bundle: IResourceMap;
  /**
   * How many units ask for this bundle.
   */
  count: number;
  /**
   * What asks (e.g. `task`, `actor`, `placement_group`).
   */
  kind?: string;
  /**
   * Whether no node could ever serve it.
   */
  infeasible?: boolean;
  /**
   * The pool it targets, if any.
   */
  pool?: string | null;
  /**
   * Why it waits, in words.
   */
  reason?: string;
}

/**
 * The resources of one node pool.
 */
export interface IPoolSummary {
  /**
   * The pool name.
   */
  name: string;
  /**
   * How many live nodes the pool has.
   */
  num_nodes: number;
  /**
   * The ids of those nodes.
   */
  node_ids?: string[];
  /**
   * Total resources of the pool.
   */
  totals: IResourceMap;
  /**
   * Available resources of the pool.
   */
  available: IResourceMap;
}

/**
 * Response of `GET {baseUrl}iog/api/v1/cluster`, also the `data` of the
 * `cluster/subscribe` snapshot messages.
 */
export interface IClusterSnapshot {
  /**
   * Time the snapshot was taken (ISO-8601 from the server).
   */
  timestamp: number | string;
  /**
   * The same time in epoch milliseconds.
   */
  timestamp_ms?: number;
  /**
   * Total cluster resources.
   */
  totals: IResourceMap;
  /**
   * Currently available (free) cluster resources.
   */
  available: IResourceMap;
  /**
   * Per-node details.
   */
  nodes: INodeSnapshot[];
  /**
   * Demands waiting for resources.
   */
  pending_demands?: IResourceDemand[];
  /**
   * Demands no node can serve.
   */
  infeasible_demands?: IResourceDemand[];
  /**
   * Per-pool totals.
   */
  pools?: IPoolSummary[];
}

/**
 * One point of the cluster history.
 */
export interface IClusterHistoryPoint {
  /**
   * When the point was recorded, in epoch milliseconds.
   */
  timestamp_ms: number;
  /**
   * Total resources then.
   */
  totals: IResourceMap;
  /**
   * Available resources then.
   */
  available: IResourceMap;
  /**
   * Number of nodes then.
   */
  num_nodes: number;
}

/**
 * Response of `GET cluster/history`.
 */
export interface IClusterHistory {
  /**
   * The server's poll interval, in seconds.
   */
  refresh_interval_s: number;
  /**
   * The ring buffer's length.
   */
  history_length: number;
  /**
   * The points, oldest first.
   */
  points: IClusterHistoryPoint[];
}

/**
 * A message of the `cluster/subscribe` websocket.
 */
export type ClusterSocketMessage =
  | {
      /**
       * A new snapshot.
       */
      type: 'snapshot';
      /**
       * The snapshot, shaped as `GET cluster`.
       */
      data: IClusterSnapshot;
    }
  | {
      /**
       * The server's connection to Ray changed.
       */
      type: 'status';
      /**
       * Whether the server reaches Ray.
       */
      connected: boolean;
      /**
       * What is wrong, in words, when not connected.
       */
      message: string | null;
      /**
       * When the last snapshot was taken (ISO-8601), if any.
       */
      last_update?: string | null;
    };

/**
 * A topic of the `events/subscribe` websocket.
 */
export type EventTopic = 'jobs' | 'sessions' | 'actors';

/**
 * A message of the `events/subscribe` websocket.
 */
export type EventsSocketMessage =
  | {
      /**
       * Sent once: the topics subscribed to.
       */
      type: 'subscribed';
      /**
       * The topics.
       */
      topics: EventTopic[];
    }
  | {
      /**
       * The first page of a topic changed; clients re-fetch their page.
       */
      type: 'changed';
      /**
       * The topic that changed.
       */
      topic: EventTopic;
    };

/**
 * A Ray job status, in Ray's words.
 */
export type JobStatus =
  'PENDING' | 'RUNNING' | 'STOPPED' | 'SUCCEEDED' | 'FAILED';

/**
 * One job, as `GET jobs` and `GET jobs/{submission_id}` send it.
 */
export interface IJobRecord {
  /**
   * The job's submission id.
   */
  submission_id: string;
  /**
   * The job's status.
   */
  status: JobStatus;
  /**
   * The shell command run as the driver.
   */
  entrypoint: string;
  /**
   * Ray's status message.
   */
  message?: string | null;
  /**
   * Who submitted it (the Jupyter user), if known.
   */
  owner?: string | null;
  /**
   * Metadata given at submission (`name`, ...).
   */
  metadata?: Record<string, string>;
  /**
   * The runtime environment, with env_vars values redacted.
   */
  runtime_env?: Record<string, unknown>;
  /**
   * Start time (ISO-8601).
   */
  start_time?: string | null;
  /**
   * Start time in epoch milliseconds.
   */
  start_time_ms?: number | null;
  /**
   * End time (ISO-8601).
   */
  end_time?: string | null;
  /**
   * End time in epoch milliseconds.
   */
  end_time_ms?: number | null;
  /**
   * The driver's exit code, once ended.
   */
  exit_code?: number | null;
  /**
   * The driver's process id.
   */
  driver_pid?: number | null;
  /**
   * The pool the driver runs in.
   */
  pool?: string | null;
  /**
   * CPUs reserved for the driver.
   */
  entrypoint_num_cpus?: number | null;
  /**
   * GPUs reserved for the driver.
   */
  entrypoint_num_gpus?: number | null;
  /**
   * Memory reserved for the driver, in bytes.
   */
  entrypoint_memory?: number | null;
  /**
   * Custom resources reserved for the driver.
   */
  entrypoint_resources?: IResourceMap;
  /**
   * Why the job is still pending, in words.
   */
  pending_reason?: string | null;
  /**
   * The jobs backend that runs it.
   */
  backend?: 'ray' | 'local';
}

/**
 * Response of `GET jobs`: one page, newest first.
 */
export interface IJobPage {
  /**
   * The jobs of the page.
   */
  jobs: IJobRecord[];
  /**
   * Pass as `cursor` for the next (older) page; null on the last page.
   */
  next_cursor: string | null;
  /**
   * How many jobs match the filter.
   */
  total: number;
}

/**
 * Query of `GET jobs`.
 */
export interface IJobListQuery {
  /**
   * Statuses to keep (sent comma-separated); all when empty.
   */
  status?: JobStatus[];
  /**
   * Jobs per page.
   */
  limit?: number;
  /**
   * `next_cursor` of the previous page.
   */
  cursor?: string | null;
}

/**
 * Body of `POST jobs`.
 */
export interface ISubmitRequest {
  /**
   * Shell command run as the driver.
   */
  entrypoint: string;
  /**
   * The id to give the job (`[A-Za-z0-9][A-Za-z0-9_.-]{0,63}`).
   */
  submission_id?: string;
  /**
   * The runtime environment (allowlisted keys only).
   */
  runtime_env?: Record<string, unknown>;
  /**
   * String metadata (`name`, ...).
   */
  metadata?: Record<string, string>;
  /**
   * CPUs reserved for the driver.
   */
  entrypoint_num_cpus?: number;
  /**
   * GPUs reserved for the driver.
   */
  entrypoint_num_gpus?: number;
  /**
   * Memory reserved for the driver, in bytes.
   */
  entrypoint_memory?: number;
  /**
   * Custom resources reserved for the driver.
   */
  entrypoint_resources?: IResourceMap;
  /**
   * The node pool to run the driver in.
   */
  pool?: string;
}

/**
 * Response of `POST jobs`.
 */
export interface ISubmitReply {
  /**
   * The new job's submission id.
   */
  submission_id: string;
}

/**
 * Response of `POST jobs/{submission_id}/stop`.
 */
export interface IStopReply {
  /**
   * The job's submission id.
   */
  submission_id: string;
  /**
   * False when the job had already ended.
   */
  stopped: boolean;
}

/**
 * Response of `DELETE jobs/{submission_id}`.
 */
export interface IDeleteReply {
  /**
   * The job's submission id.
   */
  submission_id: string;
  /**
   * Whether the record was deleted.
   */
  deleted: boolean;
}

/**
 * The idle policy's view of one session.
 */
export interface ISessionPolicyState {
  /**
   * `warned` and `due` sessions are idle past the warning threshold.
   */
  state:
    | 'off'
    | 'not_applicable'
    | 'active'
    | 'warned'
    | 'due'
    | 'released'
    | 'exempt';
  /**
   * Since when the session is idle, in epoch milliseconds.
   */
  idle_since_ms?: number | null;
  /**
   * When the warning is (or was) due, in epoch milliseconds.
   */
  warn_at_ms?: number | null;
  /**
   * When the release is due, in epoch milliseconds.
   */
  release_at_ms?: number | null;
  /**
   * Until when the owner kept it alive, in epoch milliseconds.
   */
  keep_alive_until_ms?: number | null;
  /**
   * The warning, in words.
   */
  message?: string | null;
}

/**
 * One Ray driver (notebook kernel, job or script), as `GET sessions` sends it.
 */
export interface ISessionRecord {
  /**
   * The driver's Ray job id.
   */
  session_id: string;
  /**
   * The driver's Ray job id (same as `session_id`).
   */
  job_id?: string;
  /**
   * What the driver is.
   */
  kind: 'notebook' | 'job' | 'script';
  /**
   * The driver's process id.
   */
  driver_pid: number;
  /**
   * The driver's IP address.
   */
  driver_ip?: string;
  /**
   * The driver's Ray namespace.
   */
  namespace?: string;
  /**
   * The user `connect()` recorded.
   */
  owner?: string | null;
  /**
   * The Jupyter kernel id, for notebooks of this server.
   */
  kernel_id?: string | null;
  /**
   * The notebook path, for notebooks of this server.
   */
  notebook_path?: string | null;
  /**
   * The kernel's execution state (`idle`, `busy`, ...).
   */
  execution_state?: string | null;
  /**
   * The kernel's last activity (ISO-8601).
   */
  last_activity?: string | null;
  /**
   * The driver's start time (ISO-8601).
   */
  start_time?: string | null;
  /**
   * The driver's start time in epoch milliseconds.
   */
  start_time_ms?: number | null;
  /**
   * Resources held by its live actors and running tasks.
   */
  resources: IResourceMap;
  /**
   * Live non-detached actors.
   */
  actors: number;
  /**
   * Live detached actors it created.
   */
  detached_actors?: number;
  /**
   * Running tasks.
   */
  running_tasks?: number;
  /**
   * Seconds since the kernel's last activity; null for non-kernels.
   */
  idle_s?: number | null;
  /**
   * The idle policy's view.
   */
  policy: ISessionPolicyState;
}

/**
 * The idle policy's configuration.
 */
export interface ISessionPolicy {
  /**
   * Whether the policy runs.
   */
  enabled?: boolean;
  /**
   * Idle seconds before a warning.
   */
  warn_after_s?: number | null;
  /**
   * Idle seconds before a release.
   */
  release_after_s?: number | null;
  /**
   * Resources a release frees.
   */
  release_resources?: string[];
  /**
   * Longest keep-alive, in seconds.
   */
  keep_alive_max_s?: number;
  /**
   * How often the policy checks, in seconds.
   */
  check_interval_s?: number;
}

/**
 * Response of `GET sessions`.
 */
export interface ISessionList {
  /**
   * The live sessions.
   */
  sessions: ISessionRecord[];
  /**
   * The idle policy's configuration.
   */
  policy: ISessionPolicy;
}

/**
 * Response of `POST sessions/{session_id}/release`.
 */
export interface IReleaseReply {
  /**
   * The session's id.
   */
  session_id: string;
  /**
   * Actors killed.
   */
  killed_actors: string[];
  /**
   * Tasks cancelled.
   */
  cancelled_tasks: number;
  /**
   * Detached actors left alone.
   */
  kept_detached_actors?: number;
  /**
   * Other actors left alone.
   */
  kept_other_actors?: number;
  /**
   * What could not be released, in words.
   */
  errors: string[];
}

/**
 * A Ray actor state, in Ray's words.
 */
export type ActorState =
  'DEPENDENCIES_UNREADY' | 'PENDING_CREATION' | 'ALIVE' | 'RESTARTING' | 'DEAD';

/**
 * One named actor, as `GET actors` sends it.
 */
export interface IActorRecord {
  /**
   * The actor's Ray namespace.
   */
  namespace: string;
  /**
   * The actor's name.
   */
  name: string;
  /**
   * The actor's id.
   */
  actor_id: string;
  /**
   * The actor's state.
   */
  state: ActorState;
  /**
   * The actor's class.
   */
  class_name?: string;
  /**
   * Whether it outlives its driver.
   */
  detached: boolean;
  /**
   * Who created it (iog's record).
   */
  owner?: string | null;
  /**
   * The kernel that created it.
   */
  kernel_id?: string | null;
  /**
   * The notebook that created it.
   */
  notebook?: string | null;
  /**
   * The Ray job that created it.
   */
  job_id?: string | null;
  /**
   * Its process id.
   */
  pid?: number | null;
  /**
   * The node it runs on.
   */
  node_id?: string | null;
  /**
   * When it was created (ISO-8601).
   */
  created?: string | null;
  /**
   * When it was created, in epoch milliseconds.
   */
  created_ms?: number | null;
  /**
   * Its time to live in seconds; null: never expires.
   */
  ttl_s?: number | null;
  /**
   * When it expires (ISO-8601).
   */
  expires?: string | null;
  /**
   * When it expires, in epoch milliseconds.
   */
  expires_ms?: number | null;
  /**
   * Resources it holds.
   */
  resources?: IResourceMap;
  /**
   * Whether iog holds a record of it.
   */
  managed?: boolean;
  /**
   * Whether iog refuses to kill it.
   */
  protected?: boolean;
}

/**
 * Response of `GET actors`.
 */
export interface IActorPage {
  /**
   * The actors of the page.
   */
  actors: IActorRecord[];
  /**
   * Pass as `cursor` for the next page; null on the last page.
   */
  next_cursor: string | null;
  /**
   * How many actors match the filters.
   */
  total: number;
}

/**
 * Query of `GET actors`.
 */
export interface IActorListQuery {
  /**
   * true: only detached actors; false: only non-detached named actors;
   * undefined: both.
   */
  detached?: boolean;
  /**
   * Only this namespace.
   */
  namespace?: string;
  /**
   * States to keep (sent comma-separated); all when empty.
   */
  state?: ActorState[];
  /**
   * Actors per page.
   */
  limit?: number;
  /**
   * `next_cursor` of the previous page.
   */
  cursor?: string | null;
}

/**
 * Response of `DELETE actors/{namespace}/{name}`.
 */
export interface IActorKillReply {
  /**
   * The actor's namespace.
   */
  namespace: string;
  /**
   * The actor's name.
   */
  name: string;
  /**
   * Whether it was killed.
   */
  killed: boolean;
  /**
   * The actor as it was.
   */
  actor?: IActorRecord;
}

/**
 * Error body sent by the server with a non-2xx status.
 */
export interface IErrorBody {
  /**
   * Human-readable error message.
   */
  message?: string;
  /**
   * Machine-oriented reason (short code or exception class).
   */
  reason?: string | null;
}

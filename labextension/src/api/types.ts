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
}

/**
 * One Ray node as reported by `GET cluster`.
 *
 * Only the fields the frontend reads are typed; the server may send more.
 */
export interface INodeSnapshot {
  /**
   * Ray node id.
   */
  node_id?: string;
  /**
   * Node IP address.
   */
  node_ip?: string;
  /**
   * Whether the node is alive.
   */
  alive?: boolean;
  /**
   * Total resources of the node.
   */
  resources?: IResourceMap;
  /**
   * Any other field sent by the server.
   */
  [key: string]: unknown;
}

/**
 * Response of `GET {baseUrl}iog/api/v1/cluster`.
 */
export interface IClusterSnapshot {
  /**
   * Time the snapshot was taken (as sent by the server).
   */
  timestamp: number | string;
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
   * Any other field sent by the server.
   */
  [key: string]: unknown;
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

import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';
import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';

import { API_NAMESPACE } from '../tokens';

/**
 * A websocket to one of the iog server extension's streams (for example
 * `cluster/subscribe` or `jobs/{id}/logs/tail`).
 *
 * The URL is built from the server settings' `wsUrl`, and the Jupyter token is
 * appended when the settings ask for it, exactly as JupyterLab's own
 * `EventManager` does. Unlike `EventManager`, a dropped socket is reopened
 * with capped exponential backoff, and the query parameters are computed
 * afresh for every attempt, so a log tail can resume from the last offset it
 * received. Messages are parsed as JSON; anything else is ignored.
 *
 * This and `request.ts` are the only places in the frontend that talk to the
 * server.
 */
export class IogSocket implements IDisposable {
  /** Create a socket and start connecting. */
  constructor(options: IogSocket.IOptions) {
    this.serverSettings =
      options.serverSettings ?? ServerConnection.makeSettings();
    this.path = options.path;
    this._params = options.params ?? (() => ({}));
    this._maxDelayMs = options.maxDelayMs ?? 15000;
    this._open();
  }

  /** The server settings the URL is built from. */
  readonly serverSettings: ServerConnection.ISettings;

  /** The stream's path below `{wsUrl}iog/api/v1/`. */
  readonly path: string;

  /** A signal emitted with each JSON message received. */
  get messageReceived(): ISignal<this, unknown> {
    return this._messageReceived;
  }

  /** A signal emitted when the connection state changes. */
  get stateChanged(): ISignal<this, IogSocket.State> {
    return this._stateChanged;
  }

  /** The connection state. */
  get state(): IogSocket.State {
    return this._state;
  }

  /** Whether the socket is disposed. */
  get isDisposed(): boolean {
    return this._state === 'disposed';
  }

  /** Send a message as JSON if the socket is open; returns whether it was. */
  send(message: unknown): boolean {
    if (this._socket && this._state === 'open') {
      this._socket.send(JSON.stringify(message));
      return true;
    }
    return false;
  }

  /**
   * Close the socket at once and reopen it (with fresh query parameters),
   * without waiting for the backoff delay.
   */
  reconnect(): void {
    if (this.isDisposed) {
      return;
    }
    this._stop();
    this._open();
  }

  /** Close the socket and stop reconnecting. */
  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._stop();
    this._setState('disposed');
    Signal.clearData(this);
  }

  /**
   * Build the URL of the next attempt.
   *
   * @returns The websocket URL, with the query parameters and the token.
   */
  url(): string {
    const { wsUrl, token, appendToken } = this.serverSettings;
    const query: Record<string, string> = { ...this._params() };
    if (token && appendToken !== false) {
      query.token = token;
    }
    const search = URLExt.objectToQueryString(query);
    return URLExt.join(wsUrl, API_NAMESPACE, this.path) + search;
  }

  private _open(): void {
    this._setState('connecting');
    const WebSocketCtor = this.serverSettings.WebSocket ?? WebSocket;
    const socket = new WebSocketCtor(this.url());
    this._socket = socket;
    // `_stop()` unhooks these before it closes the socket, so they only hear
    // the current one.
    socket.onopen = () => {
      this._failures = 0;
      this._setState('open');
    };
    socket.onmessage = (event: MessageEvent) => {
      let data: unknown;
      try {
        data = JSON.parse(event.data);
      } catch {
        return; // not JSON (or a binary frame): ignored
      }
      this._messageReceived.emit(data);
    };
    socket.onclose = () => {
      this._socket = null;
      this._setState('closed');
      this._schedule();
    };
  }

  private _schedule(): void {
    // Capped exponential backoff: 500 ms, doubling up to the cap.
    const doublings = Math.min(this._failures, 30);
    const delay = Math.min(this._maxDelayMs, 500 * 2 ** doublings);
    this._failures += 1;
    this._timer = setTimeout(() => {
      this._timer = null;
      if (!this.isDisposed) {
        this._open();
      }
    }, delay);
  }

  /** Close the socket, if any, and cancel a scheduled attempt. */
  private _stop(): void {
    const socket = this._socket;
    this._socket = null;
    if (socket) {
      socket.onopen = null;
      socket.onmessage = null;
      socket.onclose = null;
      socket.close();
    }
    if (this._timer !== null) {
      clearTimeout(this._timer);
      this._timer = null;
    }
  }

  private _setState(state: IogSocket.State): void {
    if (this._state === state || this._state === 'disposed') {
      return;
    }
    this._state = state;
    this._stateChanged.emit(state);
  }

  private _socket: WebSocket | null = null;
  private _state: IogSocket.State = 'connecting';
  private _failures = 0;
  private _timer: ReturnType<typeof setTimeout> | null = null;
  private _params: () => Record<string, string>;
  private _maxDelayMs: number;
  private _messageReceived = new Signal<this, unknown>(this);
  private _stateChanged = new Signal<this, IogSocket.State>(this);
}

/** A namespace for `IogSocket` statics. */
export namespace IogSocket {
  /**
   * The connection state: `connecting` (an attempt is under way), `open`,
   * `closed` (dropped; a new attempt is scheduled) and `disposed`.
   */
  export type State = 'connecting' | 'open' | 'closed' | 'disposed';

  /** Options to create an `IogSocket`. */
  export interface IOptions {
    /** The stream's path below `{wsUrl}iog/api/v1/` (`cluster/subscribe`). */
    path: string;
    /** Query parameters, computed for every attempt (`{offset: '1024'}`). */
    params?: () => Record<string, string>;
    /** Server settings; defaults to `ServerConnection.makeSettings()`. */
    serverSettings?: ServerConnection.ISettings;
    /** The largest reconnect delay in milliseconds (default 15000). */
    maxDelayMs?: number;
  }
}

import { ServerConnection } from '@jupyterlab/services';
import { ISignal, Signal } from '@lumino/signaling';

import { IogSocket } from '../api/socket';
import type { EventTopic } from '../api/types';
import { Disposable } from './Disposable';

/**
 * The push channel of the list models: a websocket on
 * `events/subscribe?topics=...` that says when a list changed.
 *
 * The server sends `{"type": "subscribed"}` once it holds a baseline of
 * every topic, then `{"type": "changed", "topic": "jobs"}` when the first
 * page of a topic changed; listeners re-fetch their own page through REST.
 * The feed counts as open from `subscribed` on, and says then that every
 * topic changed: the server holds its baseline now, so a fetch from here on
 * sees every change it will not push (made while the socket was down, or
 * between the listener's last fetch and the baseline).
 * A server without this route simply never opens the socket, and the
 * models keep polling at their normal rate.
 */
export class ChangeFeed extends Disposable {
  /** Create the feed and start connecting. */
  constructor(options: ChangeFeed.IOptions = {}) {
    super();
    this._socket = new IogSocket({
      path: 'events/subscribe',
      params: () => ({ topics: this.topics.join(',') }),
      serverSettings: options.serverSettings,
      maxDelayMs: 60000
    });
    this._socket.messageReceived.connect(this._onMessage, this);
    this._socket.stateChanged.connect(this._onState, this);
  }

  /** The topics subscribed to. */
  readonly topics: ReadonlyArray<EventTopic> = ['jobs', 'sessions', 'actors'];

  /** A signal emitted with the topic whose list changed (or may have). */
  get changed(): ISignal<this, EventTopic> {
    return this._changed;
  }

  /** Whether pushes can arrive now. */
  get isOpen(): boolean {
    return this._isOpen;
  }

  /** Close the socket and stop reconnecting. */
  protected onDispose(): void {
    this._socket.dispose();
  }

  private _onMessage(_: IogSocket, message: unknown): void {
    // `{"type": "changed", "topic": ...}` for a topic subscribed to.
    const { type, topic } = (message ?? {}) as Record<string, unknown>;
    const known = this.topics.find(name => name === topic);
    if (type === 'changed' && known) {
      this._changed.emit(known);
    } else if (type === 'subscribed' && !this._isOpen) {
      this._isOpen = true;
      this.topics.forEach(name => this._changed.emit(name));
    }
  }

  private _onState(_: IogSocket, state: IogSocket.State): void {
    if (state !== 'open') {
      this._isOpen = false;
    }
  }

  private _socket: IogSocket;
  private _isOpen = false;
  private _changed = new Signal<this, EventTopic>(this);
}

/** A namespace for `ChangeFeed` statics. */
export namespace ChangeFeed {
  /** Options to create a `ChangeFeed`. */
  export interface IOptions {
    /** Server settings; defaults to `ServerConnection.makeSettings()`. */
    serverSettings?: ServerConnection.ISettings;
  }
}

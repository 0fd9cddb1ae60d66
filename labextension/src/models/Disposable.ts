import { IDisposable } from '@lumino/disposable';
import { Signal } from '@lumino/signaling';

/**
 * Base of the models, the change feed and the log tail: `dispose()` runs
 * `onDispose()` once, then disconnects every signal the object sends or
 * receives (`Signal.clearData`).
 */
export abstract class Disposable implements IDisposable {
  /** Whether the object is disposed. */
  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /** Release what the object holds, then clear its signals. */
  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this.onDispose();
    Signal.clearData(this);
  }

  /** Release what the object holds (its socket, poll or tail). */
  protected abstract onDispose(): void;

  private _isDisposed = false;
}

import { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import type { IAnsiSegment } from '../ansi';
import { JobLogModel } from '../models/JobLogModel';
import { describeError } from '../models/connection';

/**
 * The live log of one job: a status line, a "Load earlier" button and the
 * lines, ANSI colours rendered as CSS classes.
 *
 * Log text only ever reaches the page as text nodes inside `div`/`span`
 * elements, so HTML or OSC-8 links in a log stay text. Only the model's
 * bounded window of lines is in the DOM, and updates are applied once per
 * animation frame (new lines appended, dropped ones removed), so a long or
 * fast log does not freeze the tab. The view follows the end of the log
 * while it is scrolled to the bottom.
 */
export class JobLogPanel extends Widget {
  /**
   * Create a panel over a model (the panel starts the model's tail).
   *
   * @param options The panel options.
   */
  constructor(options: JobLogPanel.IOptions) {
    super();
    this.model = options.model;
    this.addClass('iog-JobLogPanel');

    this._statusNode = document.createElement('div');
    this._statusNode.className = 'iog-JobLogPanel-status';
    this._statusNode.setAttribute('role', 'status');

    this._earlierButton = document.createElement('button');
    this._earlierButton.type = 'button';
    this._earlierButton.className = 'jp-Button iog-JobLogPanel-earlier';
    this._earlierButton.textContent = 'Load earlier';
    this._earlierButton.addEventListener('click', () => {
      void this._loadEarlier();
    });

    this._linesNode = document.createElement('div');
    this._linesNode.className = 'iog-JobLogPanel-lines';
    this._linesNode.setAttribute('role', 'log');
    this._linesNode.setAttribute(
      'aria-label',
      `Log of job ${this.model.submissionId}`
    );
    this._linesNode.addEventListener('scroll', () => {
      const node = this._linesNode;
      this._follow =
        node.scrollHeight - node.scrollTop - node.clientHeight < 24;
    });

    this.node.append(this._statusNode, this._earlierButton, this._linesNode);
    this.model.changed.connect(this._schedule, this);
    this._render();
    this.model.start();
  }

  /**
   * The model shown.
   */
  readonly model: JobLogModel;

  /**
   * The element holding the line elements (for tests and styling).
   */
  get linesNode(): HTMLElement {
    return this._linesNode;
  }

  /**
   * Apply pending model changes to the DOM now.
   */
  flush(): void {
    if (this._frame !== null) {
      Private.cancelFrame(this._frame);
      this._frame = null;
    }
    this._render();
  }

  /**
   * Dispose the panel and its model (closing the tail).
   */
  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    if (this._frame !== null) {
      Private.cancelFrame(this._frame);
      this._frame = null;
    }
    this.model.dispose();
    super.dispose();
  }

  /**
   * Keep following the end when the panel is shown again.
   *
   * @param msg The message.
   */
  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this.flush();
  }

  private _schedule(): void {
    if (this._frame === null && !this.isDisposed) {
      this._frame = Private.requestFrame(() => {
        this._frame = null;
        this._render();
      });
    }
  }

  private async _loadEarlier(): Promise<void> {
    this._earlierButton.disabled = true;
    try {
      await this.model.loadEarlier();
      this._error = null;
    } catch (error) {
      this._error = describeError(error);
    } finally {
      this._earlierButton.disabled = false;
      this.flush();
    }
  }

  private _render(): void {
    const model = this.model;
    this._renderStatus();
    this._earlierButton.hidden = !model.hasEarlier;

    const lines = model.lines;
    const first = model.firstSeq;
    const last = first + lines.length; // exclusive
    const container = this._linesNode;
    const partial = this._partialNode;
    if (partial) {
      partial.remove();
      this._partialNode = null;
    }
    // Drop nodes that left the window, or everything when nothing overlaps.
    if (this._lastSeq <= first || this._firstSeq >= last) {
      container.textContent = '';
      this._firstSeq = first;
      this._lastSeq = first;
    }
    while (this._firstSeq < first && container.firstChild) {
      container.firstChild.remove();
      this._firstSeq += 1;
    }
    // Lines loaded in front.
    if (this._firstSeq > first) {
      const fragment = document.createDocumentFragment();
      for (let seq = first; seq < this._firstSeq; seq++) {
        fragment.append(Private.lineNode(lines[seq - first].segments));
      }
      container.insertBefore(fragment, container.firstChild);
      this._firstSeq = first;
    }
    // New lines at the end.
    if (this._lastSeq < last) {
      const fragment = document.createDocumentFragment();
      for (let seq = Math.max(this._lastSeq, first); seq < last; seq++) {
        fragment.append(Private.lineNode(lines[seq - first].segments));
      }
      container.append(fragment);
    }
    this._lastSeq = last;
    const segments = model.partial;
    if (segments) {
      this._partialNode = Private.lineNode(segments);
      this._partialNode.classList.add('iog-mod-partial');
      container.append(this._partialNode);
    }
    if (this._follow) {
      container.scrollTop = container.scrollHeight;
    }
  }

  private _renderStatus(): void {
    const model = this.model;
    const node = this._statusNode;
    let text: string;
    switch (model.phase) {
      case 'connecting':
        text = 'Connecting…';
        break;
      case 'following':
        text = 'Following…';
        break;
      case 'reconnecting':
        text = 'Reconnecting…';
        break;
      case 'ended':
        text =
          (model.status ?? 'ENDED') +
          (model.exitCode !== null ? ` (exit code ${model.exitCode})` : '') +
          (model.message ? ` — ${model.message}` : '');
        break;
      default:
        text = `Error: ${model.message ?? 'the log is unavailable.'}`;
    }
    if (model.droppedLines > 0) {
      text += ` · ${model.droppedLines} earlier lines not shown`;
    }
    if (this._error) {
      text += ` · ${this._error}`;
    }
    node.textContent = text;
    node.dataset.phase = model.phase;
    for (const phase of [
      'connecting',
      'following',
      'reconnecting',
      'ended',
      'error'
    ]) {
      node.classList.toggle(`iog-mod-${phase}`, model.phase === phase);
    }
    const status = (model.status ?? '').toLowerCase();
    node.classList.toggle('iog-mod-succeeded', status === 'succeeded');
    node.classList.toggle(
      'iog-mod-failed',
      status === 'failed' || model.phase === 'error'
    );
  }

  private _statusNode: HTMLDivElement;
  private _earlierButton: HTMLButtonElement;
  private _linesNode: HTMLDivElement;
  private _partialNode: HTMLElement | null = null;
  private _firstSeq = 0;
  private _lastSeq = 0;
  private _follow = true;
  private _frame: number | null = null;
  private _error: string | null = null;
}

/**
 * A namespace for `JobLogPanel` statics.
 */
export namespace JobLogPanel {
  /**
   * Options to create a `JobLogPanel`.
   */
  export interface IOptions {
    /**
     * The log model; the panel starts its tail and disposes it.
     */
    model: JobLogModel;
  }
}

/**
 * Module-private helpers.
 */
namespace Private {
  /**
   * Build one line's element from its segments (text nodes only).
   *
   * @param segments The styled segments.
   * @returns A `div.iog-JobLogPanel-line`.
   */
  export function lineNode(segments: IAnsiSegment[]): HTMLElement {
    const line = document.createElement('div');
    line.className = 'iog-JobLogPanel-line';
    for (const segment of segments) {
      if (segment.classes.length === 0) {
        line.append(document.createTextNode(segment.text));
      } else {
        const span = document.createElement('span');
        span.className = segment.classes.join(' ');
        span.textContent = segment.text;
        line.append(span);
      }
    }
    if (!segments.length) {
      line.append(document.createTextNode('\u200b'));
    }
    return line;
  }

  /**
   * `requestAnimationFrame`, or a timer where there is none.
   *
   * @param callback What to run.
   * @returns A handle for `cancelFrame`.
   */
  export function requestFrame(callback: () => void): number {
    if (typeof requestAnimationFrame === 'function') {
      return requestAnimationFrame(callback);
    }
    return setTimeout(callback, 16) as unknown as number;
  }

  /**
   * Cancel a `requestFrame`.
   *
   * @param handle The handle.
   */
  export function cancelFrame(handle: number): void {
    if (typeof cancelAnimationFrame === 'function') {
      cancelAnimationFrame(handle);
    } else {
      clearTimeout(handle);
    }
  }
}

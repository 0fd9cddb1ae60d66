import { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import type { IAnsiSegment } from '../ansi';
import { describeError } from '../models/connection';
import { JobLogModel } from '../models/JobLogModel';
import { button, el, setText } from './dom';

/**
 * The live log of one job: a status line, "Load earlier" / "Jump to end"
 * buttons and the lines, ANSI colours rendered as CSS classes.
 *
 * Log text only ever reaches the page as text nodes inside `div`/`span`
 * elements, so HTML or OSC-8 links in a log stay text. Only the model's
 * bounded window of lines is in the DOM, and updates are applied at most
 * once per animation frame: new lines are appended, dropped ones removed,
 * earlier ones inserted in front, nothing else is touched. So a long or fast
 * log does not freeze the tab. The view follows the end of the log while it
 * is scrolled to the bottom; scrolled up, it keeps what is on screen in
 * place.
 */
export class JobLogPanel extends Widget {
  /** Create a panel over a model (the panel starts the model's tail). */
  constructor(options: JobLogPanel.IOptions) {
    super();
    this.model = options.model;
    this.addClass('iog-JobLogPanel');
    this.linesNode = el('div', {
      className: 'iog-JobLogPanel-lines',
      attrs: {
        role: 'log',
        // A busy log would flood a screen reader; the status line is announced.
        'aria-live': 'off',
        'aria-label': `Log of job ${this.model.submissionId}`
      }
    });
    this.linesNode.tabIndex = 0;
    this.linesNode.addEventListener('scroll', () => {
      const node = this.linesNode;
      this._follow =
        node.scrollHeight - node.scrollTop - node.clientHeight <
        Private.FOLLOW_SLACK_PX;
    });
    this.node.append(
      el('div', { className: 'iog-JobLogPanel-header' }, [
        this._statusNode,
        this._noticeNode,
        this._endButton
      ]),
      this._earlierButton,
      this.linesNode
    );
    this.model.changed.connect(this._schedule, this);
    this._render();
    this.model.start();
  }

  /** The model shown. */
  readonly model: JobLogModel;

  /** The element holding the line elements. */
  readonly linesNode: HTMLDivElement;

  /** Apply pending model changes now instead of at the next frame. */
  flush(): void {
    this._cancelFrame();
    this._render();
  }

  /** Dispose the panel and its model (closing the tail). */
  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._cancelFrame();
    this.model.dispose();
    super.dispose();
  }

  /** Catch up at once when shown again (a hidden tab may run no frames). */
  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this.flush();
  }

  private _schedule(): void {
    if (this._frame === null && !this.isDisposed) {
      this._frame = requestAnimationFrame(() => {
        this._frame = null;
        if (!this.isDisposed) {
          this._render();
        }
      });
    }
  }

  private _cancelFrame(): void {
    if (this._frame !== null) {
      cancelAnimationFrame(this._frame);
      this._frame = null;
    }
  }

  private async _run(
    action: () => Promise<unknown>,
    follow: boolean
  ): Promise<void> {
    try {
      await action();
      this._error = null;
      if (follow) {
        this._follow = true;
      }
    } catch (error) {
      this._error = describeError(error);
    }
    if (!this.isDisposed) {
      this.flush();
    }
  }

  private _render(): void {
    const model = this.model;
    this._renderStatus();
    this._earlierButton.hidden = !model.hasEarlier;
    this._earlierButton.disabled = model.busy;
    this._endButton.hidden = !model.detached;
    this._endButton.disabled = model.busy;

    const window = model.window;
    const first = window.firstSeq;
    const last = first + window.length; // exclusive
    const container = this.linesNode;
    if (this._partialNode) {
      this._partialNode.remove();
      this._partialNode = null;
    }
    if (
      this._generation !== window.generation ||
      this._lastSeq <= first ||
      this._firstSeq >= last
    ) {
      // Nothing on screen is still in the window.
      container.textContent = '';
      this._generation = window.generation;
      this._firstSeq = first;
      this._lastSeq = first;
    }
    while (this._lastSeq > last && container.lastChild) {
      container.lastChild.remove();
      this._lastSeq -= 1;
    }
    // Changes above what is on screen move it: measure them to undo that.
    const anchor = this._follow ? 0 : container.scrollHeight;
    while (this._firstSeq < first && container.firstChild) {
      container.firstChild.remove();
      this._firstSeq += 1;
    }
    // The nodes of the window's lines `[from, to)`.
    const lines = (from: number, to: number): DocumentFragment => {
      const fragment = document.createDocumentFragment();
      for (let seq = from; seq < to; seq++) {
        fragment.append(Private.lineNode(window.lineAt(seq - first).segments));
      }
      return fragment;
    };
    container.prepend(lines(first, this._firstSeq));
    this._firstSeq = Math.min(this._firstSeq, first);
    if (!this._follow) {
      // Keep the lines the reader looks at in place.
      container.scrollTop += container.scrollHeight - anchor;
    }
    container.append(lines(this._lastSeq, last));
    this._lastSeq = Math.max(this._lastSeq, last);
    const partial = window.partial;
    if (partial) {
      this._partialNode = Private.lineNode(partial);
      this._partialNode.classList.add('iog-mod-partial');
      container.append(this._partialNode);
    }
    if (this._follow) {
      container.scrollTop = container.scrollHeight;
    }
  }

  private _renderStatus(): void {
    const tail = this.model;
    const node = this._statusNode;
    const text =
      tail.phase === 'ended'
        ? (tail.status ?? 'ENDED') +
          (tail.exitCode !== null ? ` (exit code ${tail.exitCode})` : '') +
          (tail.message ? ` — ${tail.message}` : '')
        : tail.phase === 'error'
          ? `Error: ${tail.message ?? 'the log is unavailable.'}`
          : Private.PHASE_TEXT[tail.phase];
    setText(node, text);
    node.dataset.phase = tail.phase;
    for (const phase of JobLogModel.PHASES) {
      node.classList.toggle(`iog-mod-${phase}`, tail.phase === phase);
    }
    const status = (tail.status ?? '').toLowerCase();
    node.classList.toggle('iog-mod-succeeded', status === 'succeeded');
    node.classList.toggle(
      'iog-mod-failed',
      status === 'failed' || tail.phase === 'error'
    );

    const notice =
      this._error ||
      (this.model.detached
        ? 'Showing earlier lines; newer lines are hidden.'
        : (tail.phase === 'reconnecting' && tail.message) || '');
    setText(this._noticeNode, notice);
    this._noticeNode.hidden = !notice;
    this._noticeNode.classList.toggle('iog-mod-error', !!this._error);
  }

  private _statusNode = el('div', {
    className: 'iog-JobLogPanel-status',
    attrs: { role: 'status' }
  });
  private _noticeNode = el('div', { className: 'iog-JobLogPanel-notice' });
  private _endButton = button(
    'Jump to end',
    () => void this._run(() => this.model.jumpToEnd(), true),
    { className: 'iog-JobLogPanel-end' },
    'jp-Button'
  );
  private _earlierButton = button(
    'Load earlier',
    () => void this._run(() => this.model.loadEarlier(), false),
    { className: 'iog-JobLogPanel-earlier' },
    'jp-Button'
  );
  private _partialNode: HTMLElement | null = null;
  private _generation = -1;
  private _firstSeq = 0;
  private _lastSeq = 0;
  private _follow = true;
  private _frame: number | null = null;
  private _error: string | null = null;
}

/** A namespace for `JobLogPanel` statics. */
export namespace JobLogPanel {
  /** Options to create a `JobLogPanel`. */
  export interface IOptions {
    /** The log model; the panel starts its tail and disposes it. */
    model: JobLogModel;
  }
}

/** Module-private helpers. */
namespace Private {
  /** How close to the bottom (in pixels) still counts as following. */
  export const FOLLOW_SLACK_PX = 24;

  /** The status line of the phases before the tail ends. */
  export const PHASE_TEXT = {
    connecting: 'Connecting…',
    following: 'Following…',
    reconnecting: 'Reconnecting…'
  };

  /** A `div.iog-JobLogPanel-line` of styled segments, text nodes only. */
  export function lineNode(segments: IAnsiSegment[]): HTMLElement {
    const line = el('div', { className: 'iog-JobLogPanel-line' });
    for (const { classes, text } of segments) {
      line.append(
        classes.length
          ? el('span', { className: classes.join(' '), text })
          : text
      );
    }
    return line;
  }
}

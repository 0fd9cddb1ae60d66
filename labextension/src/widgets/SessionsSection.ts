import { Dialog, showDialog, showErrorMessage } from '@jupyterlab/apputils';

import type { SessionRecord } from '../api/types';
import { formatCount, formatDuration, formatGiB } from '../format';
import { describeError } from '../models/connection';
import { SessionsModel } from '../models/SessionsModel';
import { button, el, setText, syncRows, tableHead } from './dom';
import { SidebarSection } from './SidebarSection';

/**
 * The sessions section of the Ray sidebar: the notebook kernels (and other
 * drivers) connected to Ray, what each holds, how long it has been idle, a
 * warning when the idle policy flags it, and a release button.
 */
export class SessionsSection extends SidebarSection {
  /**
   * Create the section.
   *
   * @param options The section options.
   */
  constructor(options: SessionsSection.IOptions) {
    super({
      key: 'sessions',
      label: 'Sessions',
      className: 'iog-SessionsSection',
      expanded: options.expanded
    });
    this._model = options.model;
    this.toolbarNode.appendChild(
      button('Refresh', () => void this._model.refresh(), {
        className: 'iog-SessionsSection-refresh',
        attrs: { 'aria-label': 'Refresh sessions' },
        title: 'Fetch the sessions again'
      })
    );
    this._policy = el('div', { className: 'iog-SessionsSection-policy' });
    this._rows = el('tbody');
    const table = el(
      'table',
      { className: 'iog-SessionsSection-table iog-Table' },
      [
        tableHead([
          'Notebook',
          'Held',
          { text: 'Actors', className: 'iog-mod-wide' },
          'Idle',
          { text: 'Actions', className: 'iog-Table-actions' }
        ]),
        this._rows
      ]
    );
    this._empty = el('div', { className: 'iog-SidebarSection-empty' });
    this.contentNode.append(this._policy, table, this._empty);
    this._model.changed.connect(this.render, this);
    this.render();
  }

  /**
   * Render the model's sessions.
   */
  render(): void {
    const model = this._model;
    this.setError(
      model.state === 'disconnected'
        ? `Could not load the sessions: ${model.message ?? 'unknown error'}`
        : null
    );
    const policy = model.policy;
    let policyText = '';
    if (policy?.enabled) {
      const parts: string[] = [];
      if (policy.warn_after_s) {
        parts.push(`warns after ${formatDuration(policy.warn_after_s)} idle`);
      }
      if (policy.release_after_s) {
        parts.push(`releases after ${formatDuration(policy.release_after_s)}`);
      }
      policyText = parts.length ? `Idle policy: ${parts.join(', ')}.` : '';
    }
    setText(this._policy, policyText);
    this._policy.hidden = !policyText;

    syncRows(
      this._rows,
      model.sessions,
      session => session.session_id,
      session => this._createRow(session),
      (row, session) => Private.updateRow(row, session)
    );
    this._empty.hidden = model.sessions.length > 0;
    setText(
      this._empty,
      model.loaded
        ? 'No notebook is connected to Ray.'
        : model.state === 'disconnected'
          ? 'No sessions to show.'
          : 'Loading sessions…'
    );
  }

  /**
   * Dispose of the section and leave the model.
   */
  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._model.changed.disconnect(this.render, this);
    super.dispose();
  }

  private _createRow(session: SessionRecord): HTMLTableRowElement {
    const id = session.session_id;
    const notebook = el('td', { className: 'iog-SessionsSection-notebook' }, [
      el('span', { className: 'iog-SessionsSection-path' }),
      el('div', {
        className: 'iog-SessionsSection-warning',
        attrs: { role: 'note' }
      })
    ]);
    return el(
      'tr',
      {
        className: 'iog-SessionsSection-row',
        attrs: { 'data-session-id': id }
      },
      [
        notebook,
        el('td', { className: 'iog-SessionsSection-held' }),
        el('td', { className: 'iog-SessionsSection-actors iog-mod-wide' }),
        el('td', { className: 'iog-SessionsSection-idle' }),
        el(
          'td',
          { className: 'iog-SessionsSection-actions iog-Table-actions' },
          [
            button('Release', () => void this._release(id), {
              className: 'iog-SessionsSection-release',
              attrs: { 'aria-label': `Release ${id}` },
              title: 'Kill its actors and cancel its running tasks'
            })
          ]
        )
      ]
    );
  }

  private async _release(id: string): Promise<void> {
    const session = this._model.sessions.find(s => s.session_id === id);
    const what = session?.notebook_path || `session ${id}`;
    const result = await showDialog({
      title: 'Release session',
      body:
        `Release what ${what} holds? Its non-detached actors are killed and ` +
        'its running tasks cancelled; detached actors and the kernel itself ' +
        'are kept.',
      buttons: [
        Dialog.cancelButton(),
        Dialog.warnButton({ label: 'Release', ariaLabel: 'Release' })
      ]
    });
    if (!result.button.accept) {
      return;
    }
    try {
      const reply = await this._model.release(id);
      if (reply.errors?.length) {
        await showErrorMessage(
          'Release incomplete',
          `Some of what ${what} holds was not released: ${reply.errors.join('; ')}`
        );
      }
    } catch (reason) {
      await showErrorMessage('Release failed', describeError(reason));
    }
  }

  private _model: SessionsModel;
  private _policy: HTMLDivElement;
  private _rows: HTMLTableSectionElement;
  private _empty: HTMLDivElement;
}

/**
 * A namespace for `SessionsSection` statics.
 */
export namespace SessionsSection {
  /**
   * Options to create a `SessionsSection`.
   */
  export interface IOptions {
    /**
     * The sessions model.
     */
    model: SessionsModel;
    /**
     * Whether the body starts shown (default true).
     */
    expanded?: boolean;
  }

  /**
   * What a session holds, in words.
   *
   * @param session The session.
   * @returns For instance `2 CPU · 1 GPU`, or `—` when nothing.
   */
  export function heldText(session: SessionRecord): string {
    const resources = session.resources ?? {};
    const parts: string[] = [];
    for (const name of ['CPU', 'GPU']) {
      if (resources[name]) {
        parts.push(`${formatCount(resources[name])} ${name}`);
      }
    }
    if (resources.memory) {
      parts.push(formatGiB(resources.memory));
    }
    return parts.length ? parts.join(' · ') : '—';
  }
}

/**
 * Module-private helpers.
 */
namespace Private {
  /**
   * Refresh the cells of a session row.
   *
   * @param row The row.
   * @param session The session.
   */
  export function updateRow(
    row: HTMLTableRowElement,
    session: SessionRecord
  ): void {
    const cells = row.cells;
    const path = cells[0].querySelector('.iog-SessionsSection-path');
    const warning = cells[0].querySelector<HTMLElement>(
      '.iog-SessionsSection-warning'
    );
    const label =
      session.notebook_path ||
      `${session.kind} ${session.session_id}` +
        (session.owner ? ` (${session.owner})` : '');
    if (path) {
      setText(path, label);
    }
    cells[0].title = [
      session.notebook_path ?? '',
      `job ${session.session_id}`,
      session.kernel_id ? `kernel ${session.kernel_id}` : '',
      session.owner ? `owner ${session.owner}` : ''
    ]
      .filter(Boolean)
      .join(' · ');
    const flagged = SessionsModel.isIdleFlagged(session);
    row.classList.toggle('iog-mod-idle', flagged);
    if (warning) {
      const text = flagged
        ? session.policy.message ||
          (session.policy.state === 'due'
            ? 'Idle: due for release.'
            : 'Idle: will be released soon.')
        : '';
      setText(warning, text);
      warning.hidden = !flagged;
    }
    setText(cells[1], SessionsSection.heldText(session));
    const detached = session.detached_actors
      ? ` (+${session.detached_actors} detached)`
      : '';
    setText(cells[2], `${session.actors ?? 0}${detached}`);
    setText(cells[3], formatDuration(session.idle_s));
    cells[3].title =
      typeof session.running_tasks === 'number'
        ? `${session.running_tasks} running task(s)`
        : '';
  }
}

import { showErrorMessage } from '@jupyterlab/apputils';

import type { SessionRecord } from '../api/types';
import { formatCount, formatDuration, formatGiB, pluralize } from '../format';
import { SessionsModel } from '../models/SessionsModel';
import { confirmAction } from './actions';
import { button, el, setText } from './dom';
import { ListSection } from './ListSection';

/**
 * The sessions section of the Ray sidebar: the notebook kernels (and other
 * drivers) connected to Ray, what each holds, how long it has been idle, a
 * warning when the idle policy flags it, and a release button.
 */
export class SessionsSection extends ListSection<SessionRecord, SessionsModel> {
  constructor(options: SessionsSection.IOptions) {
    super({
      ...options,
      key: 'sessions',
      label: 'Sessions',
      className: 'iog-SessionsSection',
      noun: 'sessions',
      items: model => model.sessions,
      rowKey: session => session.session_id,
      keyAttr: 'data-session-id',
      emptyText: () => 'No notebook is connected to Ray.',
      columns: [
        ['Notebook', 'notebook'],
        ['Held', 'held'],
        ['Actors', 'actors', 'iog-mod-wide'],
        ['Idle', 'idle'],
        ['Actions', 'actions', 'iog-Table-actions']
      ]
    });
    this.contentNode.prepend(this._policy);
    this.render();
  }

  /** Render the idle policy and the sessions. */
  render(): void {
    const policy = this.model.policy;
    const parts: string[] = [];
    if (policy?.enabled && policy.warn_after_s) {
      parts.push(`warns after ${formatDuration(policy.warn_after_s)} idle`);
    }
    if (policy?.enabled && policy.release_after_s) {
      parts.push(`releases after ${formatDuration(policy.release_after_s)}`);
    }
    const policyText = parts.length ? `Idle policy: ${parts.join(', ')}.` : '';
    setText(this._policy, policyText);
    this._policy.hidden = !policyText;
    super.render();
  }

  protected createRow(session: SessionRecord): HTMLTableRowElement {
    const row = super.createRow(session);
    row.cells[0].append(
      el('span', { className: 'iog-SessionsSection-path' }),
      el('div', {
        className: 'iog-SessionsSection-warning',
        attrs: { role: 'note' }
      })
    );
    // Ray's own drivers (e.g. the dashboard's, `internal` for good) are never
    // released.
    if (!session.internal) {
      const id = session.session_id;
      row.cells[4].append(
        button('Release', () => void this._release(id), {
          className: 'iog-SessionsSection-release',
          attrs: { 'aria-label': `Release ${id}` },
          title: `Kill the actors of ${session.label} and cancel its running tasks`
        })
      );
    }
    return row;
  }

  protected updateRow(row: HTMLTableRowElement, session: SessionRecord): void {
    const cells = row.cells;
    const [path, warning] = Array.from(cells[0].children) as HTMLElement[];
    setText(path, session.label);
    cells[0].title = [
      session.label,
      session.notebook_path ?? '',
      `session ${session.session_id}`,
      session.submission_id ? `job ${session.submission_id}` : '',
      session.kernel_id ? `kernel ${session.kernel_id}` : '',
      session.owner ? `owner ${session.owner}` : '',
      session.internal
        ? `Ray's own driver (namespace ${session.namespace})`
        : ''
    ]
      .filter(Boolean)
      .join('\n');
    const flagged = SessionsModel.isIdleFlagged(session);
    row.classList.toggle('iog-mod-idle', flagged);
    setText(
      warning,
      flagged
        ? session.policy.message ||
            (session.policy.state === 'due'
              ? 'Idle: due for release.'
              : 'Idle: will be released soon.')
        : ''
    );
    warning.hidden = !flagged;
    setText(cells[1], SessionsSection.heldText(session));
    setText(cells[2], SessionsSection.actorsText(session));
    cells[2].title =
      `${pluralize(session.actors ?? 0, 'actor')} released with the session; ` +
      `${session.detached_actors ?? 0} detached (kept)`;
    setText(cells[3], formatDuration(session.idle_s));
    cells[3].title =
      typeof session.running_tasks === 'number'
        ? `${session.running_tasks} running task(s)`
        : '';
  }

  private async _release(id: string): Promise<void> {
    const session = this.model.sessions.find(s => s.session_id === id);
    const what = session?.label || `session ${id}`;
    const reply = await confirmAction(
      {
        title: 'Release session',
        label: 'Release',
        body:
          `Release what ${what} holds? Its non-detached actors are killed ` +
          'and its running tasks cancelled; detached actors and the kernel ' +
          'itself are kept.',
        failure: 'Release failed'
      },
      () => this.model.release(id)
    );
    if (reply?.errors?.length) {
      await showErrorMessage(
        'Release incomplete',
        `Some of what ${what} holds was not released: ${reply.errors.join('; ')}`
      );
    }
  }

  private _policy = el('div', { className: 'iog-SessionsSection-policy' });
}

/** A namespace for `SessionsSection` statics. */
export namespace SessionsSection {
  /** Options to create a `SessionsSection`. */
  export type IOptions = ListSection.ISectionOptions<SessionsModel>;

  /** What a session holds, e.g. `2 CPU · 1 GPU`, or `—` when nothing. */
  export function heldText(session: SessionRecord): string {
    const { CPU, GPU, memory } = session.resources ?? {};
    const parts = [
      CPU && `${formatCount(CPU)} CPU`,
      GPU && `${formatCount(GPU)} GPU`,
      memory && formatGiB(memory)
    ];
    return parts.filter(Boolean).join(' · ') || '—';
  }

  /** The actors of a session, e.g. `1 actor · 1 detached` or `0 actors`. */
  export function actorsText(session: SessionRecord): string {
    const detached = session.detached_actors ?? 0;
    return (
      pluralize(session.actors ?? 0, 'actor') +
      (detached ? ` · ${detached} detached` : '')
    );
  }
}

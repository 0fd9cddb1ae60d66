import type { CommandRegistry } from '@lumino/commands';

import { JobsService } from '../api/services';
import type { JobRecord } from '../api/types';
import { formatAge, formatDuration, formatTime } from '../format';
import type { JobsModel } from '../models/JobsModel';
import { CommandIDs } from '../tokens';
import { confirmJobAction } from './actions';
import { button, el, select, setText } from './dom';
import { ListSection } from './ListSection';

/**
 * The jobs section of the Ray sidebar: a submit button, a status filter,
 * one page of jobs (name and command, status, owner, age) with log, stop and
 * delete buttons, and Newer / Older paging.
 */
export class JobsSection extends ListSection<JobRecord, JobsModel> {
  constructor(options: JobsSection.IOptions) {
    super({
      ...options,
      key: 'jobs',
      label: 'Jobs',
      className: 'iog-JobsSection',
      noun: 'jobs',
      items: model => model.jobs,
      rowKey: job => job.submission_id,
      keyAttr: 'data-submission-id',
      emptyText: ({ statusFilter: filter }) =>
        filter ? `No ${filter} jobs.` : 'No jobs yet.',
      columns: [
        ['Name', 'name'],
        ['Status', 'status'],
        ['Owner', 'owner', 'iog-mod-wide'],
        ['Started', 'start', 'iog-mod-wide'],
        ['Actions', 'actions', 'iog-Table-actions']
      ],
      pager: {
        newer: { text: 'Newer', className: 'newer' },
        older: { text: 'Older', className: 'older' }
      }
    });
    this._commands = options.commands;
    const submitJob = CommandIDs.submitJob;
    this.toolbarNode.prepend(
      button('Submit job', () => void options.commands.execute(submitJob), {
        className: 'iog-JobsSection-submit iog-mod-primary'
      })
    );

    this._filter = select(
      {
        className: 'iog-JobsSection-filter',
        attrs: { 'aria-label': 'Filter jobs by status' }
      },
      ['', ...JobsService.STATUSES].map(status => [status, status || 'All']),
      value => {
        const status = JobsService.STATUSES.find(s => s === value) ?? null;
        void this.model.setStatusFilter(status);
      }
    );
    this.contentNode.prepend(
      el('div', { className: 'iog-JobsSection-controls' }, [this._filter])
    );
    this.render();
  }

  /** Render the model's current page and filter. */
  render(): void {
    this._filter.value = this.model.statusFilter ?? '';
    super.render();
  }

  /** Stop re-rendering the ages. */
  dispose(): void {
    window.clearInterval(this._ticker);
    super.dispose();
  }

  protected createRow(job: JobRecord): HTMLTableRowElement {
    const row = super.createRow(job);
    row.cells[0].append(
      el('span', { className: 'iog-JobsSection-jobName' }),
      el('div', { className: 'iog-JobsSection-command' })
    );
    return row;
  }

  protected updateRow(row: HTMLTableRowElement, job: JobRecord): void {
    const cells = row.cells;
    const [name, command] = Array.from(cells[0].children);
    setText(name, job.name);
    setText(command, job.command);
    const started = formatTime(job.start_time_ms, job.start_time);
    const ended = JobsSection.endedText(job);
    cells[0].title =
      `${job.name}\n${job.command}\n` +
      `id ${job.submission_id} · owner ${job.owner ?? '—'}\n` +
      `started ${started}${ended ? ` · ${ended}` : ''}`;

    const status = cells[1];
    setText(status, job.status);
    status.className = `iog-JobsSection-status iog-mod-${String(job.status).toLowerCase()}`;
    const detail = job.status === 'PENDING' ? job.pending_reason : job.message;
    status.title = detail ?? '';

    setText(cells[2], job.owner ?? '—');
    setText(cells[3], JobsSection.ageText(job));
    cells[3].title = `started ${started}${ended ? `\n${ended}` : ''}`;

    const terminal = JobsService.isTerminal(job.status) ? 'true' : 'false';
    if (row.dataset.terminal !== terminal) {
      row.dataset.terminal = terminal;
      this._renderActions(cells[4], job, terminal === 'true');
    }
    row.classList.toggle('iog-mod-terminal', terminal === 'true');
  }

  private _renderActions(
    cell: HTMLTableCellElement,
    { submission_id: id, name }: JobRecord,
    terminal: boolean
  ): void {
    const run = (command: string) => () =>
      void this._commands.execute(command, { submissionId: id });
    const buttons = [
      button('Logs', run(CommandIDs.openJobLog), {
        className: 'iog-JobsSection-logs',
        attrs: { 'aria-label': `Show logs of ${id}` },
        title: `Show the log of ${name}`
      })
    ];
    if (!terminal && this._commands.hasCommand(CommandIDs.watchJob)) {
      buttons.push(
        button('', run(CommandIDs.watchJob), {
          className: 'iog-JobsSection-watch',
          attrs: { 'aria-label': `Notify when ${id} ends` },
          title: `Show a notification when ${name} ends`
        })
      );
    }
    const [label, action, title] = terminal
      ? (['Delete', 'delete', `Delete the record and log of ${name}`] as const)
      : (['Stop', 'stop', `Stop ${name}`] as const);
    buttons.push(
      button(label, () => void confirmJobAction(this.model, action, id), {
        className: `iog-JobsSection-${action}`,
        attrs: { 'aria-label': `${label} ${id}` },
        title
      })
    );
    cell.replaceChildren(...buttons);
  }

  private _commands: CommandRegistry;
  private _filter: HTMLSelectElement;
  // The ages ("2 min ago") age without any change of the jobs.
  private _ticker = window.setInterval(() => this.render(), 30_000);
}

/** A namespace for `JobsSection` statics. */
export namespace JobsSection {
  /** Options to create a `JobsSection`. */
  export interface IOptions extends ListSection.ISectionOptions<JobsModel> {
    /**
     * The application's commands: `iog:submit-job` and `iog:open-job-log`
     * are run through them.
     */
    commands: CommandRegistry;
  }

  /**
   * The start of a job in words and, once it ended, how long it ran, at
   * `now` (epoch ms), e.g. `2 min ago` or `1 h ago · ran 3m 5s`.
   */
  export function ageText(job: JobRecord, now = Date.now()): string {
    const age = formatAge(job.start_time_ms, now);
    const ran = runSeconds(job);
    return ran === null ? age : `${age} · ran ${formatDuration(ran)}`;
  }

  /**
   * When an ended job ended and how long it ran, for tooltips, e.g. `ended
   * May 1, 10:03 AM after 3m 5s`; `''` while it has not ended.
   */
  export function endedText(job: JobRecord): string {
    const ran = runSeconds(job);
    return ran === null
      ? ''
      : `ended ${formatTime(job.end_time_ms, job.end_time)} after ${formatDuration(ran)}`;
  }

  function runSeconds(job: JobRecord): number | null {
    const { start_time_ms: start, end_time_ms: end } = job;
    return JobsService.isTerminal(job.status) &&
      Number.isFinite(start) &&
      Number.isFinite(end)
      ? (Number(end) - Number(start)) / 1000
      : null;
  }
}

import type { CommandRegistry } from '@lumino/commands';

import { JobsService } from '../api/services';
import type { JobRecord } from '../api/types';
import { formatTime } from '../format';
import type { JobsModel } from '../models/JobsModel';
import { CommandIDs } from '../tokens';
import { confirmJobAction } from './actions';
import { button, el, setText } from './dom';
import { ListSection } from './ListSection';

/**
 * The jobs section of the Ray sidebar: a submit button, a status filter,
 * one page of jobs (name, status, owner, start time) with log, stop and
 * delete buttons, and Newer / Older paging.
 */
export class JobsSection extends ListSection<JobRecord, JobsModel> {
  /**
   * Create the section.
   *
   * @param options The section options.
   */
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

    this._filter = el('select', {
      className: 'iog-JobsSection-filter',
      attrs: { 'aria-label': 'Filter jobs by status' }
    });
    for (const status of ['', ...JobsService.STATUSES]) {
      this._filter.appendChild(
        el('option', { text: status || 'All', attrs: { value: status } })
      );
    }
    this._filter.addEventListener('change', this._onFilter);
    this.contentNode.prepend(
      el('div', { className: 'iog-JobsSection-controls' }, [this._filter])
    );
    this.render();
  }

  /** Render the model's current page and filter. */
  render(): void {
    const filter = this.model.statusFilter ?? '';
    if (this._filter.value !== filter) {
      this._filter.value = filter;
    }
    super.render();
  }

  protected updateRow(row: HTMLTableRowElement, job: JobRecord): void {
    const cells = row.cells;
    const name = job.metadata?.name || job.entrypoint;
    setText(cells[0], name);
    const started = formatTime(job.start_time_ms, job.start_time);
    cells[0].title =
      `${job.submission_id}: ${job.entrypoint}\n` +
      `owner ${job.owner ?? '—'} · started ${started}`;

    const status = cells[1];
    setText(status, job.status);
    status.className = `iog-JobsSection-status iog-mod-${String(job.status).toLowerCase()}`;
    const detail = job.status === 'PENDING' ? job.pending_reason : job.message;
    status.title = detail ?? '';

    setText(cells[2], job.owner ?? '—');
    setText(cells[3], started);
    cells[3].title = job.start_time ?? '';

    const terminal = JobsService.isTerminal(job.status) ? 'true' : 'false';
    if (row.dataset.terminal !== terminal) {
      row.dataset.terminal = terminal;
      this._renderActions(cells[4], job.submission_id, terminal === 'true');
    }
    row.classList.toggle('iog-mod-terminal', terminal === 'true');
  }

  private _renderActions(
    cell: HTMLTableCellElement,
    id: string,
    terminal: boolean
  ): void {
    const open = { submissionId: id };
    const logs = button(
      'Logs',
      () => void this._commands.execute(CommandIDs.openJobLog, open),
      {
        className: 'iog-JobsSection-logs',
        attrs: { 'aria-label': `Show logs of ${id}` },
        title: `Show the log of ${id}`
      }
    );
    const [label, action, title] = terminal
      ? (['Delete', 'delete', `Delete the record and log of ${id}`] as const)
      : (['Stop', 'stop', `Stop ${id}`] as const);
    const end = button(
      label,
      () => void confirmJobAction(this.model, action, id),
      {
        className: `iog-JobsSection-${action}`,
        attrs: { 'aria-label': `${label} ${id}` },
        title
      }
    );
    cell.replaceChildren(logs, end);
  }

  private _onFilter = (): void => {
    const value = this._filter.value;
    const status = JobsService.STATUSES.find(s => s === value) ?? null;
    void this.model.setStatusFilter(status);
  };

  private _commands: CommandRegistry;
  private _filter: HTMLSelectElement;
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
}

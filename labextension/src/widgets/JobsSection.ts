import type { CommandRegistry } from '@lumino/commands';

import { JobsService } from '../api/services';
import type { JobRecord, JobStatus } from '../api/types';
import { formatPageRange, formatTime } from '../format';
import type { JobsModel } from '../models/JobsModel';
import { CommandIDs } from '../tokens';
import { button, el, setText, syncRows, tableHead } from './dom';
import {
  deleteJobWithConfirmation,
  stopJobWithConfirmation
} from './jobActions';
import { SidebarSection } from './SidebarSection';

/**
 * The jobs section of the Ray sidebar: a submit button, a status filter,
 * one page of jobs (name, status, owner, start time) with log, stop and
 * delete buttons, and Newer / Older paging.
 */
export class JobsSection extends SidebarSection {
  /**
   * Create the section.
   *
   * @param options The section options.
   */
  constructor(options: JobsSection.IOptions) {
    super({
      key: 'jobs',
      label: 'Jobs',
      className: 'iog-JobsSection',
      expanded: options.expanded
    });
    this._model = options.model;
    this._commands = options.commands;

    this.toolbarNode.append(
      button('Submit job', this._onSubmit, {
        className: 'iog-JobsSection-submit iog-mod-primary'
      }),
      button('Refresh', () => void this._model.refresh(), {
        className: 'iog-JobsSection-refresh',
        attrs: { 'aria-label': 'Refresh jobs' },
        title: 'Fetch the jobs again'
      })
    );

    this._filter = el('select', {
      className: 'iog-JobsSection-filter',
      attrs: { 'aria-label': 'Filter jobs by status' }
    });
    this._filter.appendChild(
      el('option', { text: 'All', attrs: { value: '' } })
    );
    for (const status of JobsService.STATUSES) {
      this._filter.appendChild(
        el('option', { text: status, attrs: { value: status } })
      );
    }
    this._filter.addEventListener('change', this._onFilter);

    this._rows = el('tbody');
    const table = el(
      'table',
      { className: 'iog-JobsSection-table iog-Table' },
      [
        tableHead([
          'Name',
          'Status',
          { text: 'Owner', className: 'iog-mod-wide' },
          { text: 'Started', className: 'iog-mod-wide' },
          { text: 'Actions', className: 'iog-Table-actions' }
        ]),
        this._rows
      ]
    );
    this._empty = el('div', { className: 'iog-SidebarSection-empty' });

    this._newer = button('Newer', () => void this._model.newer(), {
      className: 'iog-JobsSection-newer'
    });
    this._older = button('Older', () => void this._model.older(), {
      className: 'iog-JobsSection-older'
    });
    this._pageLabel = el('span', { className: 'iog-JobsSection-pageLabel' });
    const pager = el('div', { className: 'iog-JobsSection-pager iog-Pager' }, [
      this._newer,
      this._pageLabel,
      this._older
    ]);

    this.contentNode.append(
      el('div', { className: 'iog-JobsSection-controls' }, [this._filter]),
      table,
      this._empty,
      pager
    );
    this._model.changed.connect(this.render, this);
    this.render();
  }

  /**
   * Render the model's current page.
   */
  render(): void {
    const model = this._model;
    const filter = model.statusFilter ?? '';
    if (this._filter.value !== filter) {
      this._filter.value = filter;
    }
    this.setError(
      model.state === 'disconnected'
        ? `Could not load the jobs: ${model.message ?? 'unknown error'}`
        : null
    );
    syncRows(
      this._rows,
      model.jobs,
      job => job.submission_id,
      job => this._createRow(job),
      (row, job) => this._updateRow(row, job)
    );

    const loaded = model.page !== null;
    this._empty.hidden = model.jobs.length > 0;
    setText(
      this._empty,
      !loaded
        ? model.state === 'disconnected'
          ? 'No jobs to show.'
          : 'Loading jobs…'
        : filter
          ? `No ${filter} jobs.`
          : 'No jobs yet.'
    );
    this._newer.disabled = !model.hasNewer;
    this._older.disabled = !model.hasOlder;
    setText(
      this._pageLabel,
      formatPageRange(
        model.pageIndex,
        model.pageSize,
        model.jobs.length,
        model.total
      )
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
    this._filter.removeEventListener('change', this._onFilter);
    super.dispose();
  }

  private _createRow(job: JobRecord): HTMLTableRowElement {
    const id = job.submission_id;
    return el(
      'tr',
      {
        className: 'iog-JobsSection-row',
        attrs: { 'data-submission-id': id }
      },
      [
        el('td', { className: 'iog-JobsSection-name' }),
        el('td', { className: 'iog-JobsSection-status' }),
        el('td', { className: 'iog-JobsSection-owner iog-mod-wide' }),
        el('td', { className: 'iog-JobsSection-start iog-mod-wide' }),
        el('td', { className: 'iog-JobsSection-actions iog-Table-actions' })
      ]
    );
  }

  private _updateRow(row: HTMLTableRowElement, job: JobRecord): void {
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
    const buttons = [
      button('Logs', () => this._showLogs(id), {
        className: 'iog-JobsSection-logs',
        attrs: { 'aria-label': `Show logs of ${id}` },
        title: `Show the log of ${id}`
      })
    ];
    if (terminal) {
      buttons.push(
        button(
          'Delete',
          () => void deleteJobWithConfirmation(this._model, id),
          {
            className: 'iog-JobsSection-delete',
            attrs: { 'aria-label': `Delete ${id}` },
            title: `Delete the record and log of ${id}`
          }
        )
      );
    } else {
      buttons.push(
        button('Stop', () => void stopJobWithConfirmation(this._model, id), {
          className: 'iog-JobsSection-stop',
          attrs: { 'aria-label': `Stop ${id}` },
          title: `Stop ${id}`
        })
      );
    }
    cell.replaceChildren(...buttons);
  }

  private _showLogs(submissionId: string): void {
    void this._commands.execute(CommandIDs.openJobLog, { submissionId });
  }

  private _onSubmit = (): void => {
    void this._commands.execute(CommandIDs.submitJob);
  };

  private _onFilter = (): void => {
    const value = this._filter.value;
    const status = JobsService.STATUSES.find(s => s === value) ?? null;
    void this._model.setStatusFilter(status as JobStatus | null);
  };

  private _model: JobsModel;
  private _commands: CommandRegistry;
  private _filter: HTMLSelectElement;
  private _rows: HTMLTableSectionElement;
  private _empty: HTMLDivElement;
  private _newer: HTMLButtonElement;
  private _older: HTMLButtonElement;
  private _pageLabel: HTMLSpanElement;
}

/**
 * A namespace for `JobsSection` statics.
 */
export namespace JobsSection {
  /**
   * Options to create a `JobsSection`.
   */
  export interface IOptions {
    /**
     * The jobs model.
     */
    model: JobsModel;
    /**
     * The application's commands: `iog:submit-job` and `iog:open-job-log`
     * are run through them.
     */
    commands: CommandRegistry;
    /**
     * Whether the body starts shown (default true).
     */
    expanded?: boolean;
  }
}

import type { UsageRow } from '../api/types';
import { formatCount, formatTime } from '../format';
import { UsageModel } from '../models/UsageModel';
import { button, el, select, setText, uniqueId } from './dom';
import { ListSection } from './ListSection';

/**
 * The usage section of the Ray sidebar: who held what in the last hour, day
 * or week, one row per user, session or job, each in words (`held 4 GPUs
 * for 6.0 h, used 12 %`), with the CPU-hours and the first and last sighting
 * in the row's tooltip, and how the figures are measured behind an info
 * toggle. It polls only while expanded.
 */
export class UsageSection extends ListSection<UsageRow, UsageModel> {
  constructor(options: UsageSection.IOptions) {
    super({
      ...options,
      key: 'usage',
      label: 'Usage',
      className: 'iog-UsageSection',
      noun: 'usage',
      items: model => model.rows,
      rowKey: row => row.key,
      keyAttr: 'data-usage-key',
      emptyText: model =>
        `Nothing held in the last ${UsageSection.WINDOW_LABELS[model.window]}.`,
      columns: [
        ['Name', 'label'],
        ['Usage', 'summary']
      ]
    });
    const model = this.model;
    const picker = (label: string) => ({
      className: 'iog-UsageSection-picker',
      attrs: { 'aria-label': label }
    });
    this._window = select(
      picker('Window'),
      Object.entries(UsageSection.WINDOW_LABELS),
      choice => (model.window = choice as UsageModel.Window)
    );
    this._groupBy = select(
      picker('Group by'),
      Object.entries(UsageSection.GROUP_LABELS),
      choice => (model.groupBy = choice as UsageModel.GroupBy)
    );
    this._note.hidden = true;
    this.contentNode.prepend(
      el('div', { className: 'iog-UsageSection-controls' }, [
        this._window,
        this._groupBy,
        this._info
      ]),
      this._note
    );
    this.render();
    // Poll only while shown (the setter runs once the fields exist).
    this.expanded = options.expanded ?? true;
  }

  /** Whether the body is shown; the model polls only while it is. */
  get expanded(): boolean {
    return super.expanded;
  }
  set expanded(value: boolean) {
    super.expanded = value;
    // The base constructor sets it before this class's fields exist.
    if (this.model) {
      this.model.active = value;
    }
  }

  /** Render the pickers, the note and the rows. */
  render(): void {
    const model = this.model;
    this._window.value = model.window;
    this._groupBy.value = model.groupBy;
    const report = model.report;
    const note = report
      ? `${report.note} Samples every ${report.sample_interval_s} s` +
        (report.kept_since_ms
          ? `; kept since ${formatTime(report.kept_since_ms)}.`
          : '.')
      : '';
    setText(this._note, note);
    this._info.disabled = !note;
    super.render();
  }

  protected updateRow(row: HTMLTableRowElement, item: UsageRow): void {
    setText(row.cells[0], item.label || item.key);
    setText(row.cells[1], item.summary);
    row.title = UsageSection.tooltip(item);
    row.classList.toggle('iog-mod-gpu', item.gpu_seconds > 0);
  }

  private _window: HTMLSelectElement;
  private _groupBy: HTMLSelectElement;
  private _note = el('p', {
    className: 'iog-UsageSection-note',
    attrs: { id: uniqueId('iog-UsageSection-note') }
  });
  private _info = button(
    'About',
    () => {
      this._note.hidden = !this._note.hidden;
      const shown = this._note.hidden ? 'false' : 'true';
      this._info.setAttribute('aria-expanded', shown);
    },
    {
      className: 'iog-UsageSection-info',
      attrs: {
        'aria-expanded': 'false',
        'aria-controls': this._note.id,
        'aria-label': 'How usage is measured'
      },
      title: 'How these figures are measured'
    }
  );
}

/** A namespace for `UsageSection` statics. */
export namespace UsageSection {
  /** Options to create a `UsageSection`. */
  export type IOptions = ListSection.ISectionOptions<UsageModel>;

  /** What the window picker shows. */
  export const WINDOW_LABELS: Record<UsageModel.Window, string> = {
    '1h': '1 h',
    '24h': '24 h',
    '7d': '7 d'
  };

  /** What the grouping picker shows. */
  export const GROUP_LABELS: Record<UsageModel.GroupBy, string> = {
    user: 'by user',
    session: 'by session',
    job: 'by job'
  };

  /**
   * A row's tooltip: its name and key, user and kind, CPU-hours, the most
   * GPUs held at once, and when it was first and last seen, one a line.
   */
  export function tooltip(row: UsageRow): string {
    const hours = (seconds: number) => (seconds / 3600).toFixed(2);
    return [
      row.label && row.label !== row.key
        ? `${row.label} (${row.key})`
        : row.key,
      row.user ? `user ${row.user}` : '',
      row.kind ?? '',
      `${hours(row.cpu_seconds)} CPU-h, ${hours(row.gpu_seconds)} GPU-h`,
      row.max_gpus
        ? `at most ${formatCount(row.max_gpus)} GPU${row.max_gpus === 1 ? '' : 's'} at once`
        : '',
      `first seen ${formatTime(row.first_seen_ms, row.first_seen)}`,
      `last seen ${formatTime(row.last_seen_ms, row.last_seen)}`
    ]
      .filter(Boolean)
      .join('\n');
  }
}

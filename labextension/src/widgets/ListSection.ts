import { formatPageRange } from '../format';
import { PagedModel } from '../models/PagedModel';
import type { PolledModel } from '../models/PolledModel';
import {
  button,
  el,
  IElementOptions,
  setText,
  syncRows,
  tableHead
} from './dom';
import { SidebarSection } from './SidebarSection';

/**
 * A sidebar section listing a model's items in a table (jobs, sessions,
 * actors): a refresh button, the table, whose rows are kept across renders
 * by key, the error and empty-state lines and, for a `PagedModel`, a pager.
 *
 * Subclasses give the items and fill the rows; they put their own controls
 * in front of the table and call `render()` once built.
 */
export abstract class ListSection<
  T,
  M extends PolledModel<unknown>
> extends SidebarSection {
  constructor(options: ListSection.IOptions<T, M>) {
    super(options);
    const { className: block, noun, pager } = options;
    const model = (this.model = options.model);
    this._options = options;
    this.toolbarNode.append(
      button('Refresh', () => void model.refresh(), {
        className: `${block}-refresh`,
        attrs: { 'aria-label': `Refresh ${noun}` },
        title: `Fetch the ${noun} again`
      })
    );
    const head = tableHead(
      options.columns.map(([text, , className = '']) => ({ text, className }))
    );
    this.contentNode.append(
      el('table', { className: `${block}-table iog-Table iog-ListTable` }, [
        head,
        this._rows
      ]),
      this._empty
    );
    if (pager && model instanceof PagedModel) {
      const make = (spec: ListSection.IButton, go: () => Promise<void>) =>
        button(spec.text, () => void go(), {
          ...spec,
          className: `${block}-${spec.className}`
        });
      const newer = make(pager.newer, () => model.newer());
      const older = make(pager.older, () => model.older());
      const label = el('span', { className: `${block}-pageLabel` });
      const node = el('div', { className: `${block}-pager iog-Pager` }, [
        newer,
        label,
        older
      ]);
      this.contentNode.append(node);
      this._renderPager = count => {
        newer.disabled = !model.hasNewer;
        older.disabled = !model.hasOlder;
        node.hidden = !!pager.hideSingle && newer.disabled && older.disabled;
        const { pageIndex, pageSize, total } = model;
        setText(label, formatPageRange(pageIndex, pageSize, count, total));
      };
    }
    // Widget.dispose() disconnects it (Signal.clearData).
    model.changed.connect(this.render, this);
  }

  /** The model listed. */
  readonly model: M;

  /** Render the model's current items. */
  render(): void {
    const { model, _options: options } = this;
    const noun = options.noun;
    this.setError(
      model.state === 'disconnected'
        ? `Could not load the ${noun}: ${model.message ?? 'unknown error'}`
        : null
    );
    const items = options.items(model);
    syncRows(
      this._rows,
      items,
      options.rowKey,
      item => this.createRow(item),
      (row, item) => this.updateRow(row, item)
    );
    this._empty.hidden = items.length > 0;
    setText(
      this._empty,
      model.loaded
        ? options.emptyText(model)
        : model.state === 'disconnected'
          ? `No ${noun} to show.`
          : `Loading ${noun}…`
    );
    this._renderPager?.(items.length);
  }

  /** Refresh the cells of an item's row. */
  protected abstract updateRow(row: HTMLTableRowElement, item: T): void;

  /**
   * Build an item's row: `tr.<block>-row` with one `td.<block>-<cell>` per
   * column; subclasses add what the cells hold besides text.
   */
  protected createRow(item: T): HTMLTableRowElement {
    const { className: block, keyAttr, columns, rowKey } = this._options;
    return el(
      'tr',
      { className: `${block}-row`, attrs: { [keyAttr]: rowKey(item) } },
      columns.map(([, cell, className]) =>
        el('td', { className: `${block}-${cell} ${className ?? ''}`.trim() })
      )
    );
  }

  private _options: ListSection.IOptions<T, M>;
  private _rows = el('tbody');
  private _empty = el('div', { className: 'iog-SidebarSection-empty' });
  private _renderPager: ((count: number) => void) | null = null;
}

/** A namespace for `ListSection` statics. */
export namespace ListSection {
  /**
   * A column: its header, its cells' name (`td.<block>-<name>`) and the
   * classes of both (e.g. `iog-mod-wide`).
   */
  export type Column = [header: string, cell: string, className?: string];

  /** Options of a concrete list section. */
  export interface ISectionOptions<M> {
    /** The model listed. */
    model: M;
    /** Whether the body starts shown (default true). */
    expanded?: boolean;
  }

  /** Options to create a list section. */
  export interface IOptions<T, M>
    extends SidebarSection.IOptions, ISectionOptions<M> {
    /**
     * What the items are called (`jobs`), in the refresh button and the
     * error and empty-state lines.
     */
    noun: string;
    /** The table's columns. */
    columns: ReadonlyArray<Column>;
    /** The items to list, in display order. */
    items: (model: M) => ReadonlyArray<T>;
    /** The key of an item's row (also set as the row's `keyAttr`). */
    rowKey: (item: T) => string;
    /** The row attribute that holds an item's key (`data-submission-id`). */
    keyAttr: string;
    /** The empty-state text once the model has loaded. */
    emptyText: (model: M) => string;
    /**
     * The pager of a `PagedModel`: its newer and older buttons, and whether
     * to hide it while there is one page only.
     */
    pager?: { newer: IButton; older: IButton; hideSingle?: boolean };
  }

  /** A pager button; its `className` is a suffix of the section's block. */
  export interface IButton extends IElementOptions {
    text: string;
    className: string;
  }
}

import { PolledModel } from './PolledModel';

/**
 * Base of the paged list models (jobs, actors): a `PolledModel` showing one
 * page of a newest-first list. `older()` follows the `next_cursor` of the
 * page shown; `newer()` goes back to the cursor the previous page was
 * fetched with.
 */
export abstract class PagedModel<
  P extends PagedModel.IPage,
  S,
  T = P
> extends PolledModel<T, S> {
  /** How many items one page holds. */
  readonly pageSize = PagedModel.DEFAULT_PAGE_SIZE;

  /** The current page as the server sent it; null before the first fetch. */
  abstract get page(): P | null;

  /** How many items match the filter; null before the first fetch. */
  get total(): number | null {
    return this.page?.total ?? null;
  }

  /** The 0-based index of the current page. */
  get pageIndex(): number {
    return this._previous.length;
  }

  /** Whether a newer page exists (the current page is not the first). */
  get hasNewer(): boolean {
    return this._previous.length > 0;
  }

  /** Whether an older page exists. */
  get hasOlder(): boolean {
    return !!this.page?.next_cursor;
  }

  /** Show the next (older) page, if any. */
  older(): Promise<void> {
    const next = this.page?.next_cursor;
    if (!next) {
      return Promise.resolve();
    }
    this._previous.push(this.cursor);
    this.cursor = next;
    return this.refresh();
  }

  /** Show the previous (newer) page, if any. */
  newer(): Promise<void> {
    if (!this._previous.length) {
      return Promise.resolve();
    }
    this.cursor = this._previous.pop() ?? null;
    return this.refresh();
  }

  /** Go back to the first page and fetch it (after a filter changed). */
  protected restart(): Promise<void> {
    this._previous = [];
    this.cursor = null;
    this.emitChanged();
    return this.refresh();
  }

  /** The cursor to fetch the current page with; null for the first page. */
  protected cursor: string | null = null;

  private _previous: Array<string | null> = [];
}

/** A namespace for `PagedModel` statics. */
export namespace PagedModel {
  /** Items per page by default. */
  export const DEFAULT_PAGE_SIZE = 50;

  /** What the models read of a page. */
  export interface IPage {
    next_cursor?: string | null;
    total?: number | null;
  }

  /** Options to create a paged model (its topic is its own). */
  export type IOptions<S = unknown> = Omit<PolledModel.IOptions<S>, 'topic'>;
}

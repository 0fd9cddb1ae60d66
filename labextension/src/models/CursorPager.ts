/**
 * Cursor bookkeeping for a newest-first list paged by the server's
 * `next_cursor`: `older()` follows the cursor of the page shown, `newer()`
 * goes back to the cursor the previous page was fetched with.
 */
export class CursorPager {
  /**
   * The cursor to fetch the current page with; null for the first page.
   */
  get cursor(): string | null {
    return this._cursor;
  }

  /**
   * The 0-based index of the current page.
   */
  get index(): number {
    return this._previous.length;
  }

  /**
   * Whether a newer page exists (the current page is not the first).
   */
  get hasNewer(): boolean {
    return this._previous.length > 0;
  }

  /**
   * Move to the page after the one shown.
   *
   * @param nextCursor The `next_cursor` of the page shown.
   * @returns Whether the position changed.
   */
  older(nextCursor: string | null): boolean {
    if (!nextCursor) {
      return false;
    }
    this._previous.push(this._cursor);
    this._cursor = nextCursor;
    return true;
  }

  /**
   * Move to the page before the one shown.
   *
   * @returns Whether the position changed.
   */
  newer(): boolean {
    if (!this._previous.length) {
      return false;
    }
    this._cursor = this._previous.pop() ?? null;
    return true;
  }

  /**
   * Go back to the first page.
   */
  reset(): void {
    this._previous = [];
    this._cursor = null;
  }

  private _cursor: string | null = null;
  private _previous: Array<string | null> = [];
}

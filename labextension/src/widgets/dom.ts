/**
 * Small DOM builders for the sidebar widgets.
 *
 * Text always goes in through `textContent` and attributes through
 * `setAttribute`; nothing here parses HTML, so server-provided strings (job
 * names, messages, paths) can never become markup.
 */

/** Options of `el()`. */
export interface IElementOptions {
  /** Space-separated CSS classes. */
  className?: string;
  /** Text content. */
  text?: string;
  /** Attributes to set (`aria-label`, `data-*`, `type`, ...). */
  attrs?: Record<string, string>;
  /** Tooltip (the `title` attribute). */
  title?: string;
}

/** Create an element with classes, text, attributes, title and children. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  options: IElementOptions = {},
  children: Node[] = []
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (options.className) {
    node.className = options.className;
  }
  if (options.text !== undefined) {
    node.textContent = options.text;
  }
  if (options.title !== undefined) {
    node.title = options.title;
  }
  for (const [name, value] of Object.entries(options.attrs ?? {})) {
    node.setAttribute(name, value);
  }
  node.append(...children);
  return node;
}

/**
 * Create a `type="button"` button labelled `text`, with the `base` class in
 * front of `options.className`.
 */
export function button(
  text: string,
  onClick: (event: MouseEvent) => void,
  options: IElementOptions = {},
  base = 'iog-Button'
): HTMLButtonElement {
  const node = el('button', {
    ...options,
    text,
    className: `${base} ${options.className ?? ''}`.trim(),
    attrs: { type: 'button', ...(options.attrs ?? {}) }
  });
  node.addEventListener('click', onClick);
  return node;
}

/** Set an element's text if it differs (avoids needless DOM writes). */
export function setText(node: Element, text: string): void {
  if (node.textContent !== text) {
    node.textContent = text;
  }
}

/**
 * Bring a `<tbody>` in line with a list, in its order, reusing the rows of
 * items whose key (the row's `data-key`) did not change: `create` builds a
 * new row, `update` refreshes every row, and rows of keys no longer listed
 * are removed.
 */
export function syncRows<T>(
  body: HTMLTableSectionElement,
  items: ReadonlyArray<T>,
  key: (item: T) => string,
  create: (item: T) => HTMLTableRowElement,
  update: (row: HTMLTableRowElement, item: T) => void
): void {
  const existing = new Map<string, HTMLTableRowElement>();
  for (const row of Array.from(body.rows)) {
    const rowKey = row.dataset.key;
    if (rowKey !== undefined && !existing.has(rowKey)) {
      existing.set(rowKey, row);
    } else {
      row.remove();
    }
  }
  let cursor: ChildNode | null = body.firstChild;
  for (const item of items) {
    const itemKey = key(item);
    let row = existing.get(itemKey);
    if (row) {
      existing.delete(itemKey);
    } else {
      row = create(item);
      row.dataset.key = itemKey;
    }
    update(row, item);
    if (row !== cursor) {
      body.insertBefore(row, cursor);
    } else {
      cursor = cursor.nextSibling;
    }
  }
  for (const row of existing.values()) {
    row.remove();
  }
}

/** Build a table head with one row of column headers (`scope="col"`). */
export function tableHead(columns: IElementOptions[]): HTMLTableSectionElement {
  return el('thead', {}, [
    el(
      'tr',
      {},
      columns.map(column => el('th', { ...column, attrs: { scope: 'col' } }))
    )
  ]);
}

/** The number of the last id `uniqueId()` handed out. */
let lastId = 0;

/** An element id unique in this page: `<prefix>-<n>`. */
export function uniqueId(prefix: string): string {
  lastId += 1;
  return `${prefix}-${lastId}`;
}

/**
 * Create a `<select>` of `[value, text]` choices that calls `onChange` with
 * the chosen value.
 */
export function select(
  options: IElementOptions,
  choices: ReadonlyArray<[value: string, text: string]>,
  onChange: (value: string) => void
): HTMLSelectElement {
  const node = el(
    'select',
    options,
    choices.map(([value, text]) => el('option', { text, attrs: { value } }))
  );
  node.addEventListener('change', () => onChange(node.value));
  return node;
}

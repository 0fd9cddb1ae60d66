/**
 * The parameters of a notebook run as a job: reading the cell tagged
 * `parameters` (papermill's convention) into JSON text, and reading the
 * dialog's value text back. `RunNotebookDialog` renders them; these
 * functions need no DOM.
 */

/** A parameter name papermill can assign: an ASCII Python identifier. */
export const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** How a parameter value's text is sent. */
export interface IParsedValue {
  /** `json`: parsed as JSON; `string`: sent as this text; `empty`: left out. */
  kind: 'json' | 'string' | 'empty';
  /** The value sent. */
  value: unknown;
}

/**
 * Read how a parameter value's text is sent: JSON when it parses, else the
 * text itself as a string; empty (only spaces) leaves the parameter out.
 */
export function parseValue(text: string): IParsedValue {
  if (!text.trim()) {
    return { kind: 'empty', value: undefined };
  }
  try {
    return { kind: 'json', value: JSON.parse(text) };
  } catch {
    return { kind: 'string', value: text };
  }
}

/**
 * Say how a value is sent, for the note under its row: for instance `JSON
 * number.`, or `Not JSON: sent as the string "abc".`
 */
export function describeValue(text: string): string {
  const parsed = parseValue(text);
  if (parsed.kind === 'empty') {
    return "Empty: the notebook's default is kept.";
  }
  if (parsed.kind === 'string') {
    return `Not JSON: sent as the string ${JSON.stringify(text)}.`;
  }
  const value = parsed.value;
  const type =
    value === null ? 'null' : Array.isArray(value) ? 'list' : typeof value;
  return `JSON ${type}.`;
}

/**
 * The parameters of a notebook document (nbformat 4 JSON), by name in the
 * cell's order: the simple `name = literal` lines of its first cell tagged
 * `parameters`, each literal as JSON text (`True` → `true`, `'a'` → `"a"`,
 * `None` → `null`). A name whose value is no literal (an expression) gets an
 * empty value, so its default is kept.
 */
export function parseParameters(notebook: unknown): Record<string, string> {
  const cells = (notebook as { cells?: unknown } | null)?.cells;
  if (!Array.isArray(cells)) {
    return {};
  }
  const cell = cells.find(item => {
    const tags = (item as { metadata?: { tags?: unknown } })?.metadata?.tags;
    return Array.isArray(tags) && tags.includes('parameters');
  }) as { source?: unknown } | undefined;
  const source = Array.isArray(cell?.source)
    ? cell.source.join('')
    : typeof cell?.source === 'string'
      ? cell.source
      : '';
  const out: Record<string, string> = {};
  for (const line of source.split('\n')) {
    const match = /^([A-Za-z_][A-Za-z0-9_]*)\s*(?::[^=]*)?=(?!=)\s*(.*)$/.exec(
      line.replace(/\s+$/, '')
    );
    if (match) {
      out[match[1]] = pythonLiteralToJson(match[2]) ?? '';
    }
  }
  return out;
}

/**
 * Turn a Python literal (numbers, strings, `True`/`False`/`None`, lists,
 * tuples, dicts of those) into compact JSON text, or null when it is not
 * such a literal; a trailing comment is dropped.
 */
export function pythonLiteralToJson(text: string): string | null {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '#') {
      break;
    }
    if (c === '"' || c === "'") {
      let value = '';
      let j = i + 1;
      for (; j < text.length && text[j] !== c; j++) {
        if (text[j] === '\\' && j + 1 < text.length) {
          j += 1;
          value += ESCAPES[text[j]] ?? `\\${text[j]}`;
        } else {
          value += text[j];
        }
      }
      if (j >= text.length) {
        return null;
      }
      out += JSON.stringify(value);
      i = j + 1;
      continue;
    }
    const number = /^(\d[\d_]*\.?[\d_]*|\.\d[\d_]*)([eE][+-]?\d+)?/.exec(
      text.slice(i)
    )?.[0];
    if (number) {
      out += String(Number(number.replace(/_/g, '')));
      i += number.length;
      continue;
    }
    const word = /^[A-Za-z_]\w*/.exec(text.slice(i))?.[0];
    if (word) {
      const json = WORDS[word];
      if (!json) {
        return null;
      }
      out += json;
      i += word.length;
      continue;
    }
    if (')]}'.includes(c)) {
      // Python allows a trailing comma (and needs one in `(1,)`); JSON not.
      out = out.replace(/,\s*$/, '');
    }
    out += c === '(' ? '[' : c === ')' ? ']' : c;
    i += 1;
  }
  try {
    return JSON.stringify(JSON.parse(out));
  } catch {
    return null;
  }
}

/** Python's names of JSON's constants. */
const WORDS: Record<string, string> = {
  True: 'true',
  False: 'false',
  None: 'null'
};

/** Python string escapes and the characters they stand for. */
const ESCAPES: Record<string, string> = {
  '\\': '\\',
  "'": "'",
  '"': '"',
  n: '\n',
  t: '\t',
  r: '\r'
};

import type { Dialog } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';

import type { NotebookSubmitRequest } from '../api/types';
import { button, el, setText, uniqueId } from './dom';
import * as Parameters from './notebookParameters';
import * as SubmitForm from './submitForm';

/**
 * The body of the `Run as Ray job` dialog: the notebook's parameters as
 * editable `name = value` rows (prefilled from its cell tagged
 * `parameters`), then the job options of the submission form (pool, CPUs,
 * GPUs, memory, custom resources, runtime_env, kernel). `getValue()` is the
 * `POST notebook-jobs` body.
 *
 * Invalid inputs get `setCustomValidity()`, so JupyterLab's dialog disables
 * its accept button; the line above the buttons says why. Every text is set
 * through `textContent` or `value`, never parsed as HTML.
 */
export class RunNotebookDialog
  extends Widget
  implements Dialog.IBodyWidget<NotebookSubmitRequest>
{
  /**
   * Create the form.
   *
   * @param options The notebook, its parameters, initial values and pools.
   */
  constructor(options: RunNotebookDialog.IOptions) {
    super({ node: document.createElement('form') });
    this.addClass('iog-SubmitJobDialog');
    this.addClass('iog-RunNotebookDialog');
    this.node.setAttribute('novalidate', '');
    this.node.addEventListener('submit', event => event.preventDefault());
    this.path = options.path;

    const values = { ...SubmitForm.EMPTY, ...(options.values ?? {}) };
    this._touched = new Set(options.error ? SubmitForm.NOTEBOOK_FIELDS : []);
    const banner = el('div', {
      className: 'iog-SubmitJobDialog-problem',
      text: options.error,
      attrs: { role: 'alert' }
    });
    banner.hidden = !options.error;
    const legend = el('legend', {
      className: 'iog-RunNotebookDialog-legend',
      text: 'Parameters'
    });
    const help = el('p', {
      className: 'iog-RunNotebookDialog-help',
      text:
        'Each value is read as JSON (3, 0.5, "text", [1, 2], true, null); ' +
        'a value that is not JSON is sent as a string. Leave a value empty ' +
        "to keep the notebook's default."
    });
    const add = button(
      'Add parameter',
      () => {
        const row = this._addRow('', '');
        row.name.focus();
        this._changed();
      },
      { className: 'iog-RunNotebookDialog-add' }
    );
    const fieldset = el(
      'fieldset',
      { className: 'iog-RunNotebookDialog-parameters' },
      [legend, help, this._rowsNode, add]
    );
    this.node.append(
      el('div', {
        className: 'iog-RunNotebookDialog-path',
        text: `Notebook: ${options.path}`,
        title: 'The executed copy is written next to it, named with the job id.'
      }),
      banner,
      fieldset
    );
    for (const [name, value] of Object.entries(options.parameters ?? {})) {
      this._addRow(name, value);
    }

    const poolsId = uniqueId('iog-RunNotebookDialog-pools');
    for (const field of SubmitForm.NOTEBOOK_FIELDS) {
      this._addField(field, values[field], poolsId);
    }
    this.node.append(
      el(
        'datalist',
        { attrs: { id: poolsId } },
        (options.pools ?? []).map(pool =>
          el('option', { attrs: { value: pool } })
        )
      ),
      this._hint
    );
    this._check();
  }

  /** The notebook, relative to the Jupyter root. */
  readonly path: string;

  /** The raw text of every job option (to reopen the form as it was). */
  get values(): Partial<RunNotebookDialog.IValues> {
    const out: Partial<RunNotebookDialog.IValues> = {};
    for (const field of SubmitForm.NOTEBOOK_FIELDS) {
      out[field] = this._inputs[field].value;
    }
    return out;
  }

  /** The parameter rows' raw text, by name, in display order. */
  get parameterTexts(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const row of this._rows) {
      out[row.name.value.trim()] = row.value.value;
    }
    return out;
  }

  /**
   * The input of a job option.
   *
   * @param field The field.
   * @returns Its `<input>`.
   */
  input(field: SubmitForm.Field): HTMLInputElement {
    return this._inputs[field];
  }

  /**
   * The name and value inputs of the parameter rows, in display order.
   *
   * @returns The rows.
   */
  parameterInputs(): ReadonlyArray<{
    name: HTMLInputElement;
    value: HTMLInputElement;
  }> {
    return this._rows.map(({ name, value }) => ({ name, value }));
  }

  /**
   * Check the parameters and the job options.
   *
   * @returns The problems in words, parameters first; empty when valid.
   */
  validate(): string[] {
    // Both rows of a duplicate name are marked; the problem is said once.
    const problems = Array.from(
      new Set(this._parameterProblems().filter(Boolean))
    );
    const fields = this._fieldProblems();
    for (const field of SubmitForm.NOTEBOOK_FIELDS) {
      if (fields[field]) {
        problems.push(
          `${SubmitForm.FIELD_SPECS[field].label}: ${fields[field]}`
        );
      }
    }
    return problems;
  }

  /**
   * The `POST notebook-jobs` body for the current values: parameters with
   * an empty value and empty options are left out; call `validate()` first.
   *
   * @returns The submission.
   */
  getValue(): NotebookSubmitRequest {
    const parameters: Record<string, unknown> = {};
    for (const row of this._rows) {
      const parsed = Parameters.parseValue(row.value.value);
      if (parsed.kind !== 'empty') {
        parameters[row.name.value.trim()] = parsed.value;
      }
    }
    const values = { ...SubmitForm.EMPTY, ...this.values };
    return SubmitForm.toNotebookRequest(this.path, values, parameters);
  }

  /** Once in the dialog, let it check validity (see `SubmitJobDialog`). */
  protected onAfterAttach(): void {
    setTimeout(() => this._notifyDialog(), 0);
  }

  private _addField(
    field: SubmitForm.Field,
    value: string,
    poolsId: string
  ): void {
    const spec: SubmitForm.IFieldSpec = SubmitForm.FIELD_SPECS[field];
    const input = el('input', {
      className: 'iog-SubmitJobDialog-input jp-mod-styled',
      attrs: {
        type: spec.type ?? 'text',
        id: uniqueId('iog-RunNotebookDialog-input'),
        name: field,
        ...(spec.type ? {} : { autocomplete: 'off', spellcheck: 'false' }),
        ...(field === 'pool' ? { list: poolsId } : {}),
        ...spec.attrs
      }
    });
    input.value = value;
    const error = el('div', {
      className: 'iog-SubmitJobDialog-error',
      attrs: { id: `${input.id}-error` }
    });
    error.hidden = true;
    input.setAttribute('aria-describedby', error.id);
    input.addEventListener('input', () => {
      this._touched.add(field);
      this._changed();
    });
    this._inputs[field] = input;
    this._errors[field] = error;
    this.node.append(
      el('label', { className: 'iog-SubmitJobDialog-field' }, [
        el('span', {
          className: 'iog-SubmitJobDialog-label',
          text: spec.label
        }),
        input
      ]),
      error
    );
  }

  private _addRow(name: string, value: string): Private.IRow {
    const nameInput = el('input', {
      className: 'iog-RunNotebookDialog-name jp-mod-styled',
      attrs: { type: 'text', autocomplete: 'off', spellcheck: 'false' }
    });
    const valueInput = el('input', {
      className: 'iog-RunNotebookDialog-value jp-mod-styled',
      attrs: { type: 'text', autocomplete: 'off', spellcheck: 'false' }
    });
    nameInput.value = name;
    valueInput.value = value;
    const note = el('div', { className: 'iog-RunNotebookDialog-note' });
    note.id = uniqueId('iog-RunNotebookDialog-note');
    valueInput.setAttribute('aria-describedby', note.id);
    nameInput.setAttribute('aria-describedby', note.id);
    const node = el('div', { className: 'iog-RunNotebookDialog-row' }, [
      nameInput,
      el('span', { className: 'iog-RunNotebookDialog-equals', text: '=' }),
      valueInput,
      note
    ]);
    const row: Private.IRow = {
      node,
      name: nameInput,
      value: valueInput,
      note
    };
    node.insertBefore(
      button(
        'Remove',
        () => {
          this._rows.splice(this._rows.indexOf(row), 1);
          node.remove();
          this._changed();
        },
        { className: 'iog-RunNotebookDialog-remove' }
      ),
      note
    );
    for (const input of [nameInput, valueInput]) {
      input.addEventListener('input', () => this._changed());
    }
    this._rows.push(row);
    this._rowsNode.append(node);
    this._labelRow(row);
    return row;
  }

  private _labelRow(row: Private.IRow): void {
    const name = row.name.value.trim() || 'new parameter';
    row.name.setAttribute('aria-label', `Name of ${name}`);
    row.value.setAttribute('aria-label', `Value of ${name}`);
    row.node
      .querySelector('.iog-RunNotebookDialog-remove')
      ?.setAttribute('aria-label', `Remove ${name}`);
  }

  private _changed(): void {
    this._check();
    this._notifyDialog();
  }

  /** Make the dialog re-check validity (see `SubmitJobDialog`). */
  private _notifyDialog(): void {
    if (!this.isDisposed) {
      this.node.dispatchEvent(new Event('input', { bubbles: true }));
    }
  }

  /** Each row's problem (its name's), or '' when none. */
  private _parameterProblems(): string[] {
    const counts = new Map<string, number>();
    for (const row of this._rows) {
      const name = row.name.value.trim();
      counts.set(name, (counts.get(name) ?? 0) + 1);
    }
    return this._rows.map(row => {
      const name = row.name.value.trim();
      if (!Parameters.IDENTIFIER.test(name)) {
        return name
          ? `Parameter "${name}" is not a name: use letters, digits and "_", not starting with a digit.`
          : 'A parameter has no name: enter one or remove the row.';
      }
      return (counts.get(name) ?? 0) > 1
        ? `Parameter "${name}" is given twice.`
        : '';
    });
  }

  private _fieldProblems(): Partial<Record<SubmitForm.Field, string>> {
    const problems = SubmitForm.validateValues(
      { ...SubmitForm.EMPTY, ...this.values },
      SubmitForm.NOTEBOOK_FIELDS
    );
    for (const field of ['cpus', 'gpus'] as const) {
      // A number input reads as '' while it holds text that is no number.
      if (this._inputs[field].validity?.badInput) {
        problems[field] = SubmitForm.NUMBER_PROBLEM;
      }
    }
    return problems;
  }

  private _check(): void {
    const rowProblems = this._parameterProblems();
    this._rows.forEach((row, index) => {
      const problem = rowProblems[index];
      row.name.setCustomValidity(problem);
      row.name.classList.toggle('jp-mod-error', !!problem);
      row.name.setAttribute('aria-invalid', problem ? 'true' : 'false');
      row.note.classList.toggle('iog-mod-error', !!problem);
      setText(row.note, problem || Parameters.describeValue(row.value.value));
      this._labelRow(row);
    });
    const fields = this._fieldProblems();
    for (const field of SubmitForm.NOTEBOOK_FIELDS) {
      const problem = fields[field] ?? '';
      const input = this._inputs[field];
      input.setCustomValidity(problem);
      const shown = this._touched.has(field) ? problem : '';
      input.classList.toggle('jp-mod-error', !!shown);
      input.setAttribute('aria-invalid', shown ? 'true' : 'false');
      this._errors[field].textContent = shown;
      this._errors[field].hidden = !shown;
    }
    const first = this.validate()[0];
    const hint = first ? `Submit is disabled: ${first}` : '';
    setText(this._hint, hint);
    this._hint.hidden = !hint;
  }

  private _hint = el('div', {
    className: 'iog-SubmitJobDialog-hint iog-RunNotebookDialog-hint',
    attrs: { role: 'status' }
  });
  private _rowsNode = el('div', { className: 'iog-RunNotebookDialog-rows' });
  private _rows: Private.IRow[] = [];
  private _inputs = {} as Record<SubmitForm.Field, HTMLInputElement>;
  private _errors = {} as Record<SubmitForm.Field, HTMLDivElement>;
  private _touched: Set<SubmitForm.Field>;
}

/** A namespace for `RunNotebookDialog` statics. */
export namespace RunNotebookDialog {
  /** The raw text of the job options. */
  export type IValues = SubmitForm.IValues;

  /** Options to create the form. */
  export interface IOptions {
    /** The notebook, relative to the Jupyter root. */
    path: string;
    /** The parameter rows: name to the value's text (JSON, or empty). */
    parameters?: Record<string, string>;
    /** Initial job options (e.g. those of a refused submission). */
    values?: Partial<IValues>;
    /** Pool names offered as suggestions. */
    pools?: ReadonlyArray<string>;
    /** A problem to show above the form (e.g. the server's refusal). */
    error?: string;
  }
}

/** Module-private types and tables. */
namespace Private {
  /** One parameter row. */
  export interface IRow {
    node: HTMLDivElement;
    name: HTMLInputElement;
    value: HTMLInputElement;
    note: HTMLDivElement;
  }
}

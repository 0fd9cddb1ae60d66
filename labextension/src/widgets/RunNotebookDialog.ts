import type { NotebookSubmitRequest } from '../api/types';
import { button, el, setText, uniqueId } from './dom';
import { JobForm } from './JobForm';
import * as Parameters from './notebookParameters';
import * as SubmitForm from './submitForm';

/**
 * The body of the `Run as Ray job` dialog: the notebook's parameters as
 * editable `name = value` rows (prefilled from its cell tagged
 * `parameters`), then the job options of the submission form (pool, CPUs,
 * GPUs, memory, custom resources, runtime_env, kernel). `getValue()` is the
 * `POST notebook-jobs` body.
 *
 * Invalid parameter names get `setCustomValidity()` too, and the line above
 * the buttons says the first problem. Every text is set through
 * `textContent` or `value`, never parsed as HTML.
 */
export class RunNotebookDialog extends JobForm<NotebookSubmitRequest> {
  constructor(options: RunNotebookDialog.IOptions) {
    super(SubmitForm.NOTEBOOK_FIELDS, options);
    this.addClass('iog-RunNotebookDialog');
    this.hint.classList.add('iog-RunNotebookDialog-hint');
    this.path = options.path;
    const add = button(
      'Add parameter',
      () => {
        this._addRow('', '').name.focus();
        this.changed();
      },
      { className: 'iog-RunNotebookDialog-add' }
    );
    this.node.prepend(
      el('div', {
        className: 'iog-RunNotebookDialog-path',
        text: `Notebook: ${options.path}`,
        title: 'The executed copy is written next to it, named with the job id.'
      }),
      this.banner,
      el('fieldset', { className: 'iog-RunNotebookDialog-parameters' }, [
        el('legend', {
          className: 'iog-RunNotebookDialog-legend',
          text: 'Parameters'
        }),
        el('p', {
          className: 'iog-RunNotebookDialog-help',
          text:
            'Each value is read as JSON (3, 0.5, "text", [1, 2], true, null); ' +
            'a value that is not JSON is sent as a string. Leave a value empty ' +
            "to keep the notebook's default."
        }),
        this._rowsNode,
        add
      ])
    );
    for (const [name, value] of Object.entries(options.parameters ?? {})) {
      this._addRow(name, value);
    }
    this.check();
  }

  /** The notebook, relative to the Jupyter root. */
  readonly path: string;

  /** The parameter rows' raw text, by name, in display order. */
  get parameterTexts(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const row of this._rows) {
      out[row.name.value.trim()] = row.value.value;
    }
    return out;
  }

  /** The name and value inputs of the parameter rows, in display order. */
  parameterInputs(): ReadonlyArray<{
    name: HTMLInputElement;
    value: HTMLInputElement;
  }> {
    return this._rows;
  }

  /** Check the parameters, then the job options: the problems in words. */
  validate(): string[] {
    const fields = this.fieldProblems();
    return [
      // Both rows of a duplicate name are marked; the problem is said once.
      ...new Set(this._parameterProblems().filter(Boolean)),
      ...this.fields
        .filter(field => fields[field])
        .map(
          field => `${SubmitForm.FIELD_SPECS[field].label}: ${fields[field]}`
        )
    ];
  }

  /**
   * The `POST notebook-jobs` body for the current values: parameters with
   * an empty value and empty options are left out; call `validate()` first.
   */
  getValue(): NotebookSubmitRequest {
    const parameters: Record<string, unknown> = {};
    for (const row of this._rows) {
      const parsed = Parameters.parseValue(row.value.value);
      if (parsed.kind !== 'empty') {
        parameters[row.name.value.trim()] = parsed.value;
      }
    }
    return SubmitForm.toNotebookRequest(this.path, this.values, parameters);
  }

  protected check(): void {
    const rowProblems = this._parameterProblems();
    this._rows.forEach((row, index) => {
      const problem = rowProblems[index];
      row.name.setCustomValidity(problem);
      row.name.classList.toggle('jp-mod-error', !!problem);
      row.name.setAttribute('aria-invalid', problem ? 'true' : 'false');
      row.note.classList.toggle('iog-mod-error', !!problem);
      setText(row.note, problem || Parameters.describeValue(row.value.value));
      const name = row.name.value.trim() || 'new parameter';
      row.name.setAttribute('aria-label', `Name of ${name}`);
      row.value.setAttribute('aria-label', `Value of ${name}`);
      row.remove.setAttribute('aria-label', `Remove ${name}`);
    });
    super.check();
  }

  protected hintText(): string {
    const first = this.validate()[0];
    return first ? `Submit is disabled: ${first}` : '';
  }

  private _addRow(name: string, value: string): Private.IRow {
    const input = (className: string, text: string) => {
      const node = el('input', {
        className: `iog-RunNotebookDialog-${className} jp-mod-styled`,
        attrs: {
          type: 'text',
          autocomplete: 'off',
          spellcheck: 'false',
          'aria-describedby': note.id
        }
      });
      node.value = text;
      node.addEventListener('input', () => this.changed());
      return node;
    };
    const note = el('div', {
      className: 'iog-RunNotebookDialog-note',
      attrs: { id: uniqueId('iog-RunNotebookDialog-note') }
    });
    const remove = button(
      'Remove',
      () => {
        this._rows.splice(this._rows.indexOf(row), 1);
        node.remove();
        this.changed();
      },
      { className: 'iog-RunNotebookDialog-remove' }
    );
    const row = {
      name: input('name', name),
      value: input('value', value),
      note,
      remove
    };
    const node = el('div', { className: 'iog-RunNotebookDialog-row' }, [
      row.name,
      el('span', { className: 'iog-RunNotebookDialog-equals', text: '=' }),
      row.value,
      remove,
      note
    ]);
    this._rows.push(row);
    this._rowsNode.append(node);
    return row;
  }

  /** Each row's problem (its name's), or '' when none. */
  private _parameterProblems(): string[] {
    const names = this._rows.map(row => row.name.value.trim());
    return names.map(name => {
      if (!Parameters.IDENTIFIER.test(name)) {
        return name
          ? `Parameter "${name}" is not a name: use letters, digits and "_", not starting with a digit.`
          : 'A parameter has no name: enter one or remove the row.';
      }
      return names.indexOf(name) !== names.lastIndexOf(name)
        ? `Parameter "${name}" is given twice.`
        : '';
    });
  }

  private _rowsNode = el('div', { className: 'iog-RunNotebookDialog-rows' });
  private _rows: Private.IRow[] = [];
}

/** A namespace for `RunNotebookDialog` statics. */
export namespace RunNotebookDialog {
  /** Options to create the form. */
  export interface IOptions extends JobForm.IOptions {
    /** The notebook, relative to the Jupyter root. */
    path: string;
    /** The parameter rows: name to the value's text (JSON, or empty). */
    parameters?: Record<string, string>;
  }
}

/** Module-private types. */
namespace Private {
  /** One parameter row's inputs, note and remove button. */
  export interface IRow {
    name: HTMLInputElement;
    value: HTMLInputElement;
    note: HTMLDivElement;
    remove: HTMLButtonElement;
  }
}

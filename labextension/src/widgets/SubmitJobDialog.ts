import type { Dialog } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';

import type { SubmitRequest } from '../api/types';
import { el, uniqueId } from './dom';
import * as SubmitForm from './submitForm';

/**
 * The body of the `Submit a Ray job` dialog: a form whose `getValue()` is the
 * `POST jobs` body.
 *
 * Every input is wrapped in its `<label>`. Invalid fields get
 * `setCustomValidity()` (and, once edited, the `jp-mod-error` class and a
 * message), so JupyterLab's dialog disables its accept button while the
 * form is invalid; `validate()` runs the same checks for callers.
 */
export class SubmitJobDialog
  extends Widget
  implements Dialog.IBodyWidget<SubmitRequest>
{
  /**
   * Create the form.
   *
   * @param options Initial values, known pools and a first error.
   */
  constructor(options: SubmitJobDialog.IOptions = {}) {
    super({ node: document.createElement('form') });
    this.addClass('iog-SubmitJobDialog');
    this.node.setAttribute('novalidate', '');
    // The dialog handles Enter; never let the browser navigate.
    this.node.addEventListener('submit', event => event.preventDefault());

    const values = { ...SubmitForm.EMPTY, ...(options.values ?? {}) };
    // Reopened with a problem: show every field's own at once.
    this._touched = new Set(options.error ? SubmitForm.FIELDS : []);
    const poolsId = uniqueId('iog-SubmitJobDialog-pools');
    for (const field of SubmitForm.FIELDS) {
      const spec: SubmitForm.IFieldSpec = SubmitForm.FIELD_SPECS[field];
      const input = el('input', {
        className: 'iog-SubmitJobDialog-input jp-mod-styled',
        attrs: {
          type: spec.type ?? 'text',
          id: uniqueId('iog-SubmitJobDialog-input'),
          name: field,
          ...(spec.type ? {} : { autocomplete: 'off' }),
          ...(field === 'pool' ? { list: poolsId } : {}),
          ...spec.attrs
        }
      });
      input.value = values[field];
      this._inputs[field] = input;
      const error = el('div', {
        className: 'iog-SubmitJobDialog-error',
        attrs: { id: `${input.id}-error` }
      });
      error.hidden = true;
      input.setAttribute('aria-describedby', error.id);
      this._errors[field] = error;
      const label = el('label', { className: 'iog-SubmitJobDialog-field' }, [
        el('span', {
          className: 'iog-SubmitJobDialog-label',
          text: spec.label
        }),
        input
      ]);
      this.node.append(label, error);
      input.addEventListener('input', () => {
        this._touched.add(field);
        this._check();
        this._notifyDialog();
      });
    }
    const datalist = el(
      'datalist',
      { attrs: { id: poolsId } },
      (options.pools ?? []).map(pool =>
        el('option', { attrs: { value: pool } })
      )
    );
    const banner = el('div', {
      className: 'iog-SubmitJobDialog-problem',
      text: options.error,
      attrs: { role: 'alert' }
    });
    banner.hidden = !options.error;
    this.node.append(datalist, banner, this._hint);
    this._check();
  }

  /** The raw text of every field (to reopen the form as it was). */
  get values(): SubmitJobDialog.IValues {
    const out = { ...SubmitForm.EMPTY };
    for (const field of SubmitForm.FIELDS) {
      out[field] = this._inputs[field].value;
    }
    return out;
  }

  /**
   * The input of a field.
   *
   * @param field The field.
   * @returns Its `<input>`.
   */
  input(field: SubmitJobDialog.Field): HTMLInputElement {
    return this._inputs[field];
  }

  /**
   * Check the fields.
   *
   * @returns The problems, by field; empty when the form is valid.
   */
  validate(): Partial<Record<SubmitJobDialog.Field, string>> {
    const problems = SubmitForm.validateValues(this.values);
    for (const field of ['cpus', 'gpus'] as const) {
      // A number input reads as '' while it holds text that is no number.
      if (this._inputs[field].validity?.badInput) {
        problems[field] = SubmitForm.NUMBER_PROBLEM;
      }
    }
    return problems;
  }

  /**
   * The `POST jobs` body for the current values. Fields left empty are
   * left out; call `validate()` first, invalid fields are left out too.
   *
   * @returns The submission.
   */
  getValue(): SubmitRequest {
    return SubmitForm.toRequest(this.values);
  }

  /**
   * Once in the dialog, let it check validity so that its accept button is
   * disabled while the required entrypoint is empty.
   */
  protected onAfterAttach(): void {
    // The dialog starts listening after its body is attached.
    setTimeout(() => this._notifyDialog(), 0);
  }

  /**
   * Make the dialog re-check validity. It listens to `input` on the document
   * in the capture phase, so it sees a field's own `input` event before
   * `_check()` has updated that field; this second event, sent from the form
   * itself, comes after.
   */
  private _notifyDialog(): void {
    if (!this.isDisposed) {
      this.node.dispatchEvent(new Event('input', { bubbles: true }));
    }
  }

  private _check(): void {
    const problems = this.validate();
    for (const field of SubmitForm.FIELDS) {
      const problem = problems[field] ?? '';
      const input = this._inputs[field];
      // `:invalid` (which the dialog checks) from the start; the message and
      // the error style only once the user has typed in the field.
      input.setCustomValidity(problem);
      const shown = this._touched.has(field) ? problem : '';
      input.classList.toggle('jp-mod-error', !!shown);
      input.setAttribute('aria-invalid', shown ? 'true' : 'false');
      this._errors[field].textContent = shown;
      this._errors[field].hidden = !shown;
    }
    // Why Submit is disabled, right above it.
    const hint = problems.entrypoint
      ? 'Enter the command to run to enable Submit.'
      : Object.keys(problems).length
        ? 'Correct the fields marked in red to enable Submit.'
        : '';
    this._hint.textContent = hint;
    this._hint.hidden = !hint;
  }

  private _hint = el('div', {
    className: 'iog-SubmitJobDialog-hint',
    attrs: { role: 'status' }
  });

  private _inputs = {} as Record<SubmitJobDialog.Field, HTMLInputElement>;
  private _errors = {} as Record<SubmitJobDialog.Field, HTMLDivElement>;
  private _touched: Set<SubmitJobDialog.Field>;
}

/** A namespace for `SubmitJobDialog` statics. */
export namespace SubmitJobDialog {
  /** A field of the form. */
  export type Field = SubmitForm.Field;

  /** The raw text of every field. */
  export type IValues = SubmitForm.IValues;

  /** Options to create the form. */
  export interface IOptions {
    /** Initial values (e.g. those of a refused submission). */
    values?: Partial<IValues>;
    /** Pool names offered as suggestions. */
    pools?: ReadonlyArray<string>;
    /** A problem to show above the form (e.g. why it was reopened). */
    error?: string;
  }
}

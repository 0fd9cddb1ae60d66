import type { Dialog } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';

import { el, setText, uniqueId } from './dom';
import * as SubmitForm from './submitForm';

/**
 * What the `Submit a Ray job` and `Run as Ray job` dialogs share: a form
 * with one `<label>`-wrapped input per field, each with its error line, the
 * pools' datalist, a problem banner and a hint that says why Submit is
 * disabled.
 *
 * Invalid fields get `setCustomValidity()` (and, once edited, the
 * `jp-mod-error` class and a message), so JupyterLab's dialog disables its
 * accept button while the form is invalid. Subclasses call `check()` once
 * built.
 */
export abstract class JobForm<T>
  extends Widget
  implements Dialog.IBodyWidget<T>
{
  /** Create the form with `fields`, in display order. */
  constructor(
    readonly fields: ReadonlyArray<SubmitForm.Field>,
    options: JobForm.IOptions
  ) {
    super({ node: document.createElement('form') });
    this.addClass('iog-SubmitJobDialog');
    this.node.setAttribute('novalidate', '');
    // The dialog handles Enter; never let the browser navigate.
    this.node.addEventListener('submit', event => event.preventDefault());
    const values = { ...SubmitForm.EMPTY, ...options.values };
    // Reopened with a problem: show every field's own at once.
    this._touched = new Set(options.error ? fields : []);
    const poolsId = uniqueId('iog-SubmitJobDialog-pools');
    for (const field of fields) {
      const spec: SubmitForm.IFieldSpec = SubmitForm.FIELD_SPECS[field];
      const input = el('input', {
        className: 'iog-SubmitJobDialog-input jp-mod-styled',
        attrs: {
          type: spec.type ?? 'text',
          id: uniqueId('iog-SubmitJobDialog-input'),
          name: field,
          ...(spec.type ? {} : { autocomplete: 'off', spellcheck: 'false' }),
          ...(field === 'pool' ? { list: poolsId } : {}),
          ...spec.attrs
        }
      });
      input.value = values[field];
      const error = el('div', {
        className: 'iog-SubmitJobDialog-error',
        attrs: { id: `${input.id}-error` }
      });
      error.hidden = true;
      input.setAttribute('aria-describedby', error.id);
      input.addEventListener('input', () => {
        this._touched.add(field);
        this.changed();
      });
      this._inputs[field] = input;
      this._errors[field] = error;
      const label = el('span', {
        className: 'iog-SubmitJobDialog-label',
        text: spec.label
      });
      this.node.append(
        el('label', { className: 'iog-SubmitJobDialog-field' }, [label, input]),
        error
      );
    }
    this.banner = el('div', {
      className: 'iog-SubmitJobDialog-problem',
      text: options.error,
      attrs: { role: 'alert' }
    });
    this.banner.hidden = !options.error;
    const pools = (options.pools ?? []).map(pool =>
      el('option', { attrs: { value: pool } })
    );
    this.node.append(
      el('datalist', { attrs: { id: poolsId } }, pools),
      this.banner,
      this.hint
    );
  }

  /** The raw text of every field (to reopen the form as it was). */
  get values(): SubmitForm.IValues {
    const out = { ...SubmitForm.EMPTY };
    for (const field of this.fields) {
      out[field] = this._inputs[field].value;
    }
    return out;
  }

  /** The `<input>` of a field. */
  input(field: SubmitForm.Field): HTMLInputElement {
    return this._inputs[field];
  }

  /** The request body for the current values; call `validate()` first. */
  abstract getValue(): T;

  /**
   * Once in the dialog, let it check validity so that its accept button is
   * disabled while the form is invalid.
   */
  protected onAfterAttach(): void {
    // The dialog starts listening after its body is attached.
    setTimeout(() => this._notifyDialog(), 0);
  }

  /** The fields' problems, by field; empty when all are valid. */
  protected fieldProblems(): SubmitForm.Problems {
    const problems = SubmitForm.validateValues(this.values, this.fields);
    for (const field of ['cpus', 'gpus'] as const) {
      // A number input reads as '' while it holds text that is no number.
      if (this._inputs[field].validity?.badInput) {
        problems[field] = SubmitForm.NUMBER_PROBLEM;
      }
    }
    return problems;
  }

  /** Why Submit is disabled, or '' when it is not. */
  protected abstract hintText(problems: SubmitForm.Problems): string;

  /** Show the current problems. */
  protected check(): void {
    const problems = this.fieldProblems();
    for (const field of this.fields) {
      const problem = problems[field] ?? '';
      const input = this._inputs[field];
      // `:invalid` (which the dialog checks) from the start; the message and
      // the error style only once the user has typed in the field.
      input.setCustomValidity(problem);
      const shown = this._touched.has(field) ? problem : '';
      input.classList.toggle('jp-mod-error', !!shown);
      input.setAttribute('aria-invalid', shown ? 'true' : 'false');
      setText(this._errors[field], shown);
      this._errors[field].hidden = !shown;
    }
    const hint = this.hintText(problems);
    setText(this.hint, hint);
    this.hint.hidden = !hint;
  }

  /** Show the problems after an edit and let the dialog re-check validity. */
  protected changed(): void {
    this.check();
    this._notifyDialog();
  }

  /**
   * Make the dialog re-check validity. It listens to `input` on the document
   * in the capture phase, so it sees a field's own `input` event before
   * `check()` has updated that field; this second event, sent from the form
   * itself, comes after.
   */
  private _notifyDialog(): void {
    if (!this.isDisposed) {
      this.node.dispatchEvent(new Event('input', { bubbles: true }));
    }
  }

  /** The problem shown with the form (e.g. why it was reopened). */
  protected readonly banner: HTMLDivElement;

  /** The line above the buttons that says why Submit is disabled. */
  protected readonly hint = el('div', {
    className: 'iog-SubmitJobDialog-hint',
    attrs: { role: 'status' }
  });

  private _inputs = {} as Record<SubmitForm.Field, HTMLInputElement>;
  private _errors = {} as Record<SubmitForm.Field, HTMLDivElement>;
  private _touched: Set<SubmitForm.Field>;
}

/** A namespace for `JobForm` statics. */
export namespace JobForm {
  /** Options to create a form. */
  export interface IOptions {
    /** Initial values (e.g. those of a refused submission). */
    values?: Partial<SubmitForm.IValues>;
    /** Pool names offered as suggestions. */
    pools?: ReadonlyArray<string>;
    /** A problem to show with the form (e.g. why it was reopened). */
    error?: string;
  }
}

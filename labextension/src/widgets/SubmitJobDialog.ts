import type { SubmitRequest } from '../api/types';
import { JobForm } from './JobForm';
import * as SubmitForm from './submitForm';

/**
 * The body of the `Submit a Ray job` dialog: a form whose `getValue()` is the
 * `POST jobs` body; `validate()` runs the form's checks for callers.
 */
export class SubmitJobDialog extends JobForm<SubmitRequest> {
  constructor(options: SubmitJobDialog.IOptions = {}) {
    super(SubmitForm.FIELDS, options);
    this.check();
  }

  /** Check the fields: the problems, by field; empty when valid. */
  validate(): SubmitForm.Problems {
    return this.fieldProblems();
  }

  /**
   * The `POST jobs` body for the current values. Fields left empty are
   * left out; call `validate()` first, invalid fields are left out too.
   */
  getValue(): SubmitRequest {
    return SubmitForm.toRequest(this.values);
  }

  protected hintText(problems: SubmitForm.Problems): string {
    return problems.entrypoint
      ? 'Enter the command to run to enable Submit.'
      : Object.keys(problems).length
        ? 'Correct the fields marked in red to enable Submit.'
        : '';
  }
}

/** A namespace for `SubmitJobDialog` statics. */
export namespace SubmitJobDialog {
  /** A field of the form. */
  export type Field = SubmitForm.Field;

  /** The raw text of every field. */
  export type IValues = SubmitForm.IValues;

  /** Options to create the form. */
  export type IOptions = JobForm.IOptions;
}

/**
 * The actions that ask the user first: submit a job or run a notebook as
 * one (the form dialogs), and those confirmed in a dialog (stop and delete a
 * job, kill an actor, release a session). The sidebar sections and the `iog:submit-job` /
 * `iog:stop-job` commands share them.
 */

import { Dialog, showDialog, showErrorMessage } from '@jupyterlab/apputils';

import type { NotebookJobsService } from '../api/services';
import type { NotebookSubmitReply } from '../api/types';
import { describeError } from '../models/connection';
import type { JobsModel } from '../models/JobsModel';
import { RunNotebookDialog } from './RunNotebookDialog';
import * as SubmitForm from './submitForm';
import { SubmitJobDialog } from './SubmitJobDialog';

/** Title of the submission dialog. */
export const SUBMIT_DIALOG_TITLE = 'Submit a Ray job';

/** Options of `submitJobWithDialog()`. */
export interface ISubmitJobOptions {
  /** Pool names offered as suggestions. */
  pools?: ReadonlyArray<string>;
  /** Values to start from; by default those of the last refused submission. */
  values?: Partial<SubmitJobDialog.IValues>;
}

/**
 * Show the `Submit a Ray job` form and submit what the user enters through
 * the jobs model; resolves to the new job's submission id, or null when
 * cancelled or refused.
 *
 * Invalid input reopens the form with the problem shown. When the server
 * refuses the job, its message is shown in an error dialog and nothing else
 * happens; the refused values are kept and fill the form next time.
 */
export async function submitJobWithDialog(
  model: JobsModel,
  options: ISubmitJobOptions = {}
): Promise<string | null> {
  let values: Partial<SubmitJobDialog.IValues> =
    options.values ?? Private.state.draft ?? {};
  let error: string | undefined;
  for (;;) {
    const body = new SubmitJobDialog({ values, pools: options.pools, error });
    const result = await Private.showForm(SUBMIT_DIALOG_TITLE, body);
    values = body.values;
    if (!result.button.accept) {
      return null;
    }
    const problems = SubmitForm.validateValues(body.values);
    const first = SubmitForm.FIELDS.find(field => problems[field]);
    if (first) {
      error = problems[first];
      continue;
    }
    try {
      const reply = await model.submit(result.value ?? body.getValue());
      Private.state.draft = null;
      return reply.submission_id;
    } catch (reason) {
      Private.state.draft = values;
      await showErrorMessage('Job submission failed', describeError(reason));
      return null;
    }
  }
}

/** Options of `runNotebookWithDialog()`: the notebook, parameters, pools. */
export type IRunNotebookOptions = Pick<
  RunNotebookDialog.IOptions,
  'path' | 'parameters' | 'pools'
>;

/**
 * Show the `Run as Ray job` form for a notebook and submit what the user
 * enters (`POST notebook-jobs`); resolves to the server's reply (job id,
 * executed copy's path), or null when cancelled.
 *
 * Invalid input, or a refusal by the server, reopens the form as it was,
 * with the problem (the server's message, as text) above it.
 */
export async function runNotebookWithDialog(
  service: NotebookJobsService,
  options: IRunNotebookOptions
): Promise<NotebookSubmitReply | null> {
  const { path, pools } = options;
  let parameters = options.parameters ?? {};
  let values: Partial<SubmitForm.IValues> = {};
  let error: string | undefined;
  for (;;) {
    const body = new RunNotebookDialog({
      path,
      parameters,
      values,
      pools,
      error
    });
    const title = `Run ${path.split('/').pop()} as a Ray job`;
    const result = await Private.showForm(title, body);
    if (!result.button.accept) {
      return null;
    }
    values = body.values;
    parameters = body.parameterTexts;
    error = body.validate()[0];
    if (error) {
      continue;
    }
    try {
      return await service.submit(result.value ?? body.getValue());
    } catch (reason) {
      error = `The server refused the job: ${describeError(reason)}`;
    }
  }
}

/** What `confirmAction()` shows. */
export interface IConfirmOptions {
  /**
   * The dialog's title; also the accept button's label unless `label` is
   * given.
   */
  title: string;
  /** The question. */
  body: string;
  /** The accept (warning) button's label. */
  label?: string;
  /** The title of the error dialog shown when the action fails. */
  failure: string;
}

/**
 * Ask for confirmation, then run an action; when it fails, show why in an
 * error dialog. Resolves to the action's result, or null when cancelled or
 * failed.
 */
export async function confirmAction<T>(
  options: IConfirmOptions,
  action: () => Promise<T>
): Promise<T | null> {
  const label = options.label ?? options.title;
  const result = await showDialog({
    title: options.title,
    body: options.body,
    buttons: [
      Dialog.cancelButton(),
      Dialog.warnButton({ label, ariaLabel: label })
    ]
  });
  if (!result.button.accept) {
    return null;
  }
  try {
    return await action();
  } catch (reason) {
    await showErrorMessage(options.failure, describeError(reason));
    return null;
  }
}

/**
 * Ask for confirmation, then stop a job, or delete an ended job's record and
 * logs; resolves to whether it was done (for a stop: requested).
 */
export async function confirmJobAction(
  model: JobsModel,
  action: 'stop' | 'delete',
  submissionId: string
): Promise<boolean> {
  const texts = Private.JOB_ACTIONS[action];
  const body = `${texts.title} ${submissionId}? ${texts.body}`;
  const reply = await confirmAction<unknown>({ ...texts, body }, () =>
    model[action](submissionId)
  );
  return reply !== null;
}

/** Module-private state. */
namespace Private {
  /** What the job actions' dialogs say (the body follows the question). */
  export const JOB_ACTIONS = {
    stop: {
      title: 'Stop job',
      body: 'Ray ends its driver and everything it started; the log is kept.',
      failure: 'Stopping the job failed'
    },
    delete: {
      title: 'Delete job',
      body: 'Its record and its log are removed for good.',
      failure: 'Deleting the job failed'
    }
  };

  /** Show a form dialog with Cancel and Submit buttons. */
  export function showForm<T>(
    title: string,
    body: Dialog.IBodyWidget<T>
  ): Promise<Dialog.IResult<T>> {
    return showDialog<T>({
      title,
      body,
      buttons: [
        Dialog.cancelButton(),
        Dialog.okButton({ label: 'Submit', ariaLabel: 'Submit' })
      ],
      focusNodeSelector: 'input'
    });
  }

  /** The values of the last refused submission, offered again next time. */
  export const state: { draft: Partial<SubmitJobDialog.IValues> | null } = {
    draft: null
  };
}

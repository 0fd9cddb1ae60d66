/**
 * @jest-environment jsdom
 */

/**
 * Unit tests of the submission form and of the submit flow around it.
 */

jest.mock('@jupyterlab/services', () =>
  jest.requireActual('./fakes').servicesStub()
);
jest.mock('@jupyterlab/apputils', () =>
  jest.requireActual('./fakes').apputilsStub()
);
jest.mock('../api/request', () => ({
  ...jest.requireActual('../api/request'),
  requestAPI: jest.fn()
}));

import { showDialog, showErrorMessage } from '@jupyterlab/apputils';
import { ServerConnection } from '@jupyterlab/services';

import { JobsService } from '../api/services';
import { requestAPI } from '../api/request';
import { JobsModel } from '../models/JobsModel';
import { submitJobWithDialog, SUBMIT_DIALOG_TITLE } from '../widgets/actions';
import { SubmitJobDialog } from '../widgets/SubmitJobDialog';
import { parseBytes, parsePackages } from '../widgets/submitForm';
import { makeSettings, responseError, routeRequests } from './fakes';

const mockRequest = requestAPI as unknown as jest.Mock;
const mockShowDialog = showDialog as unknown as jest.Mock;
const mockShowError = showErrorMessage as unknown as jest.Mock;

function type(
  dialog: SubmitJobDialog,
  field: SubmitJobDialog.Field,
  value: string
): void {
  const input = dialog.input(field);
  input.value = value;
  input.dispatchEvent(new Event('input', { bubbles: true }));
}

describe('SubmitJobDialog', () => {
  it('labels every input with the contract names', () => {
    const dialog = new SubmitJobDialog();
    const labels = Array.from(dialog.node.querySelectorAll('label')).map(
      label => ({
        text: label.querySelector('.iog-SubmitJobDialog-label')?.textContent,
        wraps: label.querySelector('input') !== null
      })
    );
    expect(labels).toEqual(
      [
        'Entrypoint',
        'Submission ID',
        'Job name',
        'CPUs',
        'GPUs',
        'Memory',
        'Pool',
        'pip packages'
      ].map(text => ({ text, wraps: true }))
    );
    expect(dialog.input('entrypoint').required).toBe(true);
    dialog.dispose();
  });

  it('builds the POST jobs body from the fields', () => {
    const dialog = new SubmitJobDialog({ pools: ['train'] });
    type(dialog, 'entrypoint', '  python train.py --epochs 3 ');
    type(dialog, 'submissionId', 'run-1');
    type(dialog, 'name', 'My run');
    type(dialog, 'cpus', '2');
    type(dialog, 'gpus', '0.5');
    type(dialog, 'memory', '2GiB');
    type(dialog, 'pool', 'train');
    type(dialog, 'pip', 'numpy, pandas >= 2 torch');

    expect(dialog.validate()).toEqual({});
    expect(dialog.getValue()).toEqual({
      entrypoint: 'python train.py --epochs 3',
      submission_id: 'run-1',
      metadata: { name: 'My run' },
      entrypoint_num_cpus: 2,
      entrypoint_num_gpus: 0.5,
      entrypoint_memory: 2 * 1024 ** 3,
      pool: 'train',
      runtime_env: { pip: ['numpy', 'pandas>=2', 'torch'] }
    });
    expect(
      dialog.node.querySelector('datalist option')?.getAttribute('value')
    ).toBe('train');
    dialog.dispose();
  });

  it('leaves empty fields out', () => {
    const dialog = new SubmitJobDialog({ values: { entrypoint: 'ls' } });
    expect(dialog.getValue()).toEqual({ entrypoint: 'ls' });
    dialog.dispose();
  });

  it('says why Submit is disabled, and nothing once it is not', () => {
    const dialog = new SubmitJobDialog();
    const hint = dialog.node.querySelector(
      '.iog-SubmitJobDialog-hint'
    ) as HTMLElement;
    // Untouched: no field shows an error yet, but the hint says what to do.
    expect(hint.hidden).toBe(false);
    expect(hint.textContent).toBe('Enter the command to run to enable Submit.');
    type(dialog, 'entrypoint', 'python x.py');
    expect(hint.hidden).toBe(true);
    type(dialog, 'cpus', '-1');
    expect(hint.textContent).toBe(
      'Correct the fields marked in red to enable Submit.'
    );
    type(dialog, 'cpus', '1');
    expect(hint.hidden).toBe(true);
    dialog.dispose();
  });

  it('refuses an empty entrypoint, negative numbers and bad ids', () => {
    const dialog = new SubmitJobDialog();
    expect(dialog.validate().entrypoint).toBe('Entrypoint is required.');
    // Untouched fields show no message yet, but are invalid for the dialog.
    const entrypoint = dialog.input('entrypoint');
    expect(entrypoint.validationMessage).toBe('Entrypoint is required.');
    expect(entrypoint.classList.contains('jp-mod-error')).toBe(false);
    expect(
      (dialog.node.querySelector(`#${entrypoint.id}-error`) as HTMLElement)
        .hidden
    ).toBe(true);

    type(dialog, 'entrypoint', 'python x.py');
    type(dialog, 'cpus', '-1');
    type(dialog, 'gpus', '-0.5');
    type(dialog, 'memory', '-5GB');
    type(dialog, 'submissionId', '../etc');

    const problems = dialog.validate();
    expect(Object.keys(problems).sort()).toEqual([
      'cpus',
      'gpus',
      'memory',
      'submissionId'
    ]);
    expect(entrypoint.validationMessage).toBe('');
    const cpus = dialog.input('cpus');
    expect(cpus.classList.contains('jp-mod-error')).toBe(true);
    expect(cpus.getAttribute('aria-invalid')).toBe('true');
    const message = dialog.node.querySelector(
      `#${cpus.id}-error`
    ) as HTMLElement;
    expect(message.hidden).toBe(false);
    expect(message.textContent).toBe('Enter a number of at least 0.');

    type(dialog, 'cpus', '0');
    expect(dialog.validate().cpus).toBeUndefined();
    dialog.dispose();
  });

  it('parses sizes and package lists', () => {
    expect(parseBytes('1073741824')).toBe(1073741824);
    expect(parseBytes('512MiB')).toBe(512 * 1024 ** 2);
    expect(parseBytes('1.5 GB')).toBe(1.5e9);
    expect(parseBytes('2g')).toBe(2 * 1024 ** 3);
    expect(parseBytes('-1')).toBeNull();
    expect(parseBytes('1e9')).toBeNull();
    expect(parsePackages(' a,b  c==1.0 ,, d ~= 2')).toEqual([
      'a',
      'b',
      'c==1.0',
      'd~=2'
    ]);
  });

  it('keeps hostile values as text', () => {
    const hostile = '<img src=x onerror=alert(1)>';
    const dialog = new SubmitJobDialog({
      values: { name: hostile },
      error: hostile
    });
    expect(dialog.node.querySelector('img')).toBeNull();
    expect(dialog.values.name).toBe(hostile);
    expect(dialog.node.querySelector('[role="alert"]')?.textContent).toBe(
      hostile
    );
    dialog.dispose();
  });
});

describe('submitJobWithDialog', () => {
  let model: JobsModel;

  beforeEach(() => {
    model = new JobsModel({
      service: new JobsService({
        serverSettings: makeSettings() as unknown as ServerConnection.ISettings
      }),
      autoStart: false
    });
  });

  afterEach(() => {
    model.dispose();
    mockRequest.mockReset();
    mockShowDialog.mockReset();
    mockShowError.mockClear();
  });

  /**
   * Answer the next dialog by filling the form and pressing a button.
   */
  function answerWith(
    fill: Partial<SubmitJobDialog.IValues>,
    accept = true
  ): void {
    mockShowDialog.mockImplementationOnce(
      async (options: { body: SubmitJobDialog }) => {
        for (const [field, value] of Object.entries(fill)) {
          type(options.body, field as SubmitJobDialog.Field, value as string);
        }
        return {
          button: { accept },
          value: accept ? options.body.getValue() : null
        };
      }
    );
  }

  it('submits and returns the new id', async () => {
    const seen = routeRequests(mockRequest, {
      'POST jobs': () => ({ submission_id: 'raysubmit_1' }),
      'GET jobs': () => ({ jobs: [], next_cursor: null, total: 0 })
    });
    answerWith({ entrypoint: 'python x.py', name: 'x' });

    const id = await submitJobWithDialog(model);

    expect(id).toBe('raysubmit_1');
    const options = mockShowDialog.mock.calls[0][0];
    expect(options.title).toBe(SUBMIT_DIALOG_TITLE);
    expect(options.title).toBe('Submit a Ray job');
    expect(options.buttons[1].label).toBe('Submit');
    expect(seen.find(r => r.method === 'POST')?.body).toEqual({
      entrypoint: 'python x.py',
      metadata: { name: 'x' }
    });
  });

  it('does nothing when cancelled', async () => {
    answerWith({ entrypoint: 'python x.py' }, false);
    expect(await submitJobWithDialog(model)).toBeNull();
    expect(mockRequest).not.toHaveBeenCalled();
  });

  it('reopens the form with the problem when accepted invalid', async () => {
    routeRequests(mockRequest, {
      'POST jobs': () => ({ submission_id: 'ok' }),
      'GET jobs': () => ({ jobs: [], next_cursor: null, total: 0 })
    });
    answerWith({ cpus: '2' });
    answerWith({ entrypoint: 'python x.py' });

    expect(await submitJobWithDialog(model)).toBe('ok');
    expect(mockShowDialog).toHaveBeenCalledTimes(2);
    const second: SubmitJobDialog = mockShowDialog.mock.calls[1][0].body;
    expect(second.values.cpus).toBe('2');
    expect(second.node.querySelector('[role="alert"]')?.textContent).toBe(
      'Entrypoint is required.'
    );
  });

  it('shows a 4xx message, does nothing else, and keeps the values', async () => {
    routeRequests(mockRequest, {
      'POST jobs': () => {
        throw responseError(
          400,
          "runtime_env key 'container' is not allowed.",
          'bad_runtime_env'
        );
      }
    });
    answerWith({ entrypoint: 'python x.py', gpus: '1' });

    expect(await submitJobWithDialog(model)).toBeNull();
    expect(mockShowError).toHaveBeenCalledWith(
      'Job submission failed',
      "runtime_env key 'container' is not allowed."
    );
    expect(mockShowDialog).toHaveBeenCalledTimes(1);
    expect(
      mockRequest.mock.calls.filter(c => c[1]?.method === 'POST')
    ).toHaveLength(1);

    // The next submission starts from the refused values.
    answerWith({}, false);
    await submitJobWithDialog(model);
    const reopened: SubmitJobDialog = mockShowDialog.mock.calls[1][0].body;
    expect(reopened.values.entrypoint).toBe('python x.py');
    expect(reopened.values.gpus).toBe('1');
  });
});

describe('SubmitJobDialog and the dialog around it', () => {
  it('re-announces input after updating validity', () => {
    const dialog = new SubmitJobDialog();
    const seenValid: boolean[] = [];
    // The dialog checks validity from a capture listener on the document.
    const listener = (): void => {
      seenValid.push(dialog.input('entrypoint').validationMessage === '');
    };
    document.addEventListener('input', listener, true);
    document.body.appendChild(dialog.node);
    type(dialog, 'entrypoint', 'python x.py');
    document.removeEventListener('input', listener, true);
    dialog.node.remove();
    // First the field's own event (stale), then the form's (up to date).
    expect(seenValid).toEqual([false, true]);
    dialog.dispose();
  });
});

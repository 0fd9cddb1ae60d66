/**
 * @jest-environment jsdom
 */

/**
 * Unit tests of the `Run as Ray job` form (parameters from the notebook's
 * `parameters` cell, checks, the `POST notebook-jobs` body) and of the
 * submit flow around it.
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

import { showDialog } from '@jupyterlab/apputils';
import { ServerConnection } from '@jupyterlab/services';

import { requestAPI } from '../api/request';
import { NotebookJobsService } from '../api/services';
import { runNotebookWithDialog } from '../widgets/actions';
import {
  parseParameters,
  pythonLiteralToJson
} from '../widgets/notebookParameters';
import { RunNotebookDialog } from '../widgets/RunNotebookDialog';
import { makeSettings, responseError, routeRequests } from './fakes';

const mockRequest = requestAPI as unknown as jest.Mock;
const mockShowDialog = showDialog as unknown as jest.Mock;
const HOSTILE = '<img src=x onerror=alert(1)>';

/** A notebook whose second cell is tagged `parameters`. */
const NOTEBOOK = {
  nbformat: 4,
  nbformat_minor: 5,
  metadata: {},
  cells: [
    { cell_type: 'code', metadata: {}, source: 'alpha = 99' },
    {
      cell_type: 'code',
      metadata: { tags: ['parameters'] },
      source: [
        '# Parameters\n',
        'alpha = 0.5\n',
        'epochs: int = 3  # how long\n',
        "name = 'run \\'a\\''\n",
        'flags = [True, False, None]\n',
        'pair = (1, 2,)\n',
        'opts = {\'lr\': 1e-3, "k": 1_000}\n',
        'data = np.arange(3)\n',
        '    indented = 1\n',
        'if x == 1: pass\n'
      ]
    }
  ]
};

function typeInto(input: HTMLInputElement, value: string): void {
  input.value = value;
  input.dispatchEvent(new Event('input', { bubbles: true }));
}

function hint(dialog: RunNotebookDialog): HTMLElement {
  return dialog.node.querySelector('.iog-RunNotebookDialog-hint')!;
}

describe('parseParameters', () => {
  it('reads the simple assignments of the parameters cell as JSON', () => {
    expect(parseParameters(NOTEBOOK)).toEqual({
      alpha: '0.5',
      epochs: '3',
      name: '"run \'a\'"',
      flags: '[true,false,null]',
      pair: '[1,2]',
      opts: '{"lr":0.001,"k":1000}',
      // Not a literal: left empty, so the notebook's default is kept.
      data: ''
    });
  });

  it('finds nothing without a parameters cell or cells', () => {
    const untagged = { cells: [{ metadata: {}, source: 'a = 1' }] };
    expect(parseParameters(untagged)).toEqual({});
    expect(parseParameters(null)).toEqual({});
    expect(parseParameters({ cells: 'x' })).toEqual({});
  });

  it('turns Python literals into JSON, or refuses', () => {
    const toJson = pythonLiteralToJson;
    expect(toJson('"a # not a comment"  # a comment')).toBe(
      '"a # not a comment"'
    );
    expect(toJson('-.5')).toBe('-0.5');
    expect(toJson("('x',)")).toBe('["x"]');
    expect(toJson('foo(1)')).toBeNull();
    expect(toJson("'unterminated")).toBeNull();
    expect(toJson('{1, 2}')).toBeNull();
  });
});

describe('RunNotebookDialog', () => {
  it('prefills one row per parameter and sends JSON values', () => {
    const dialog = new RunNotebookDialog({
      path: 'work/train.ipynb',
      parameters: parseParameters(NOTEBOOK)
    });
    const rows = dialog.parameterInputs();
    expect(rows.map(row => [row.name.value, row.value.value])).toEqual([
      ['alpha', '0.5'],
      ['epochs', '3'],
      ['name', '"run \'a\'"'],
      ['flags', '[true,false,null]'],
      ['pair', '[1,2]'],
      ['opts', '{"lr":0.001,"k":1000}'],
      ['data', '']
    ]);
    expect(rows[0].value.getAttribute('aria-label')).toBe('Value of alpha');
    expect(dialog.validate()).toEqual([]);
    expect(hint(dialog).hidden).toBe(true);

    typeInto(rows[0].value, '0.25');
    typeInto(rows[2].value, 'plain words');
    expect(dialog.getValue()).toEqual({
      path: 'work/train.ipynb',
      parameters: {
        alpha: 0.25,
        epochs: 3,
        name: 'plain words',
        flags: [true, false, null],
        pair: [1, 2],
        opts: { lr: 0.001, k: 1000 }
        // `data` is empty: left out.
      }
    });
    // Each row says how its value is sent.
    const notes = Array.from(
      dialog.node.querySelectorAll('.iog-RunNotebookDialog-note')
    ).map(note => note.textContent);
    expect(notes[0]).toBe('JSON number.');
    expect(notes[2]).toBe('Not JSON: sent as the string "plain words".');
    expect(notes[3]).toBe('JSON list.');
    expect(notes[6]).toBe("Empty: the notebook's default is kept.");
    dialog.dispose();
  });

  it('builds the request body from the job options', () => {
    const dialog = new RunNotebookDialog({
      path: 'a b/x.ipynb',
      pools: ['gpu']
    });
    typeInto(dialog.input('submissionId'), 'nb-1');
    typeInto(dialog.input('name'), 'Nightly');
    typeInto(dialog.input('cpus'), '2');
    typeInto(dialog.input('gpus'), '1');
    typeInto(dialog.input('memory'), '1GiB');
    typeInto(dialog.input('pool'), 'gpu');
    typeInto(dialog.input('resources'), '{"A100": 1}');
    typeInto(dialog.input('runtimeEnv'), '{"env_vars": {"SEED": "1"}}');
    typeInto(dialog.input('kernel'), 'python3');
    expect(dialog.validate()).toEqual([]);
    expect(dialog.getValue()).toEqual({
      path: 'a b/x.ipynb',
      parameters: {},
      submission_id: 'nb-1',
      metadata: { name: 'Nightly' },
      entrypoint_num_cpus: 2,
      entrypoint_num_gpus: 1,
      entrypoint_memory: 1024 ** 3,
      pool: 'gpu',
      entrypoint_resources: { A100: 1 },
      runtime_env: { env_vars: { SEED: '1' } },
      kernel_name: 'python3'
    });
    expect(
      dialog.node.querySelector('datalist option')?.getAttribute('value')
    ).toBe('gpu');
    dialog.dispose();
  });

  it('disables Submit with the reason while a name or option is invalid', () => {
    const dialog = new RunNotebookDialog({
      path: 'x.ipynb',
      parameters: { alpha: '1' }
    });
    const [row] = dialog.parameterInputs();

    typeInto(row.name, '1alpha');
    expect(row.name.validationMessage).toContain('is not a name');
    expect(row.name.classList.contains('jp-mod-error')).toBe(true);
    expect(hint(dialog).hidden).toBe(false);
    expect(hint(dialog).textContent).toBe(
      'Submit is disabled: Parameter "1alpha" is not a name: use letters, ' +
        'digits and "_", not starting with a digit.'
    );
    // The dialog disables its accept button while anything is `:invalid`.
    expect(Array.from(dialog.node.querySelectorAll('input:invalid'))).toEqual([
      row.name
    ]);

    typeInto(row.name, 'alpha');
    expect(hint(dialog).hidden).toBe(true);
    expect(dialog.node.querySelector(':invalid')).toBeNull();

    // A new row has no name yet; a second `alpha` is a duplicate.
    (
      dialog.node.querySelector('.iog-RunNotebookDialog-add') as HTMLElement
    ).click();
    expect(hint(dialog).textContent).toBe(
      'Submit is disabled: A parameter has no name: enter one or remove the row.'
    );
    const added = dialog.parameterInputs()[1];
    typeInto(added.name, 'alpha');
    expect(dialog.validate()).toEqual(['Parameter "alpha" is given twice.']);
    (
      added.name.parentElement!.querySelector(
        '.iog-RunNotebookDialog-remove'
      ) as HTMLElement
    ).click();
    expect(dialog.parameterInputs()).toHaveLength(1);
    expect(dialog.validate()).toEqual([]);

    typeInto(dialog.input('runtimeEnv'), '["pip"]');
    typeInto(dialog.input('resources'), '{"A100": -1}');
    expect(dialog.validate()).toEqual([
      'Custom resources: Enter a JSON object of resource names and amounts ' +
        'of at least 0, e.g. {"A100": 1}.',
      'runtime_env: Enter a JSON object, e.g. {"env_vars": {"SEED": "1"}}, ' +
        'or leave it empty.'
    ]);
    expect(hint(dialog).textContent).toMatch(
      /^Submit is disabled: Custom resources: /
    );
    expect(dialog.input('runtimeEnv').classList.contains('jp-mod-error')).toBe(
      true
    );
    dialog.dispose();
  });

  it('keeps hostile names, values and errors as text', () => {
    const dialog = new RunNotebookDialog({
      path: `${HOSTILE}.ipynb`,
      parameters: { p: JSON.stringify(HOSTILE) },
      error: HOSTILE
    });
    expect(dialog.node.querySelector('img')).toBeNull();
    expect(dialog.node.querySelector('[role="alert"]')?.textContent).toBe(
      HOSTILE
    );
    expect(dialog.getValue().parameters).toEqual({ p: HOSTILE });
    dialog.dispose();
  });
});

describe('runNotebookWithDialog', () => {
  const service = new NotebookJobsService({
    serverSettings: makeSettings() as unknown as ServerConnection.ISettings
  });

  afterEach(() => {
    mockRequest.mockReset();
    mockShowDialog.mockReset();
  });

  /** Answer the next dialog: change it, then press Submit or Cancel. */
  function answerWith(
    change: (body: RunNotebookDialog) => void,
    accept = true
  ): void {
    mockShowDialog.mockImplementationOnce(
      async (options: { body: RunNotebookDialog }) => {
        change(options.body);
        return {
          button: { accept },
          value: accept ? options.body.getValue() : null
        };
      }
    );
  }

  it('posts the notebook with the changed parameter', async () => {
    const reply = {
      submission_id: 'nb-7',
      notebook: 'work/train.ipynb',
      output: 'work/train.nb-7.ipynb'
    };
    const seen = routeRequests(mockRequest, {
      'POST notebook-jobs': () => reply
    });
    answerWith(body => {
      typeInto(body.parameterInputs()[0].value, '0.1');
      typeInto(body.input('gpus'), '1');
    });

    expect(
      await runNotebookWithDialog(service, {
        path: 'work/train.ipynb',
        parameters: { alpha: '0.5', epochs: '3' }
      })
    ).toEqual(reply);
    const options = mockShowDialog.mock.calls[0][0];
    expect(options.title).toBe('Run train.ipynb as a Ray job');
    expect(options.buttons[1].label).toBe('Submit');
    expect(seen).toEqual([
      {
        method: 'POST',
        path: 'notebook-jobs',
        query: {},
        body: {
          path: 'work/train.ipynb',
          parameters: { alpha: 0.1, epochs: 3 },
          entrypoint_num_gpus: 1
        }
      }
    ]);
  });

  it('does nothing when cancelled', async () => {
    answerWith(() => undefined, false);
    expect(await runNotebookWithDialog(service, { path: 'x.ipynb' })).toBe(
      null
    );
    expect(mockRequest).not.toHaveBeenCalled();
  });

  it("reopens the form as it was with the server's refusal as text", async () => {
    let calls = 0;
    routeRequests(mockRequest, {
      'POST notebook-jobs': () => {
        calls += 1;
        if (calls === 1) {
          throw responseError(400, `No notebook ${HOSTILE}.`, 'bad_path');
        }
        return { submission_id: 'ok', notebook: 'x.ipynb', output: 'o' };
      }
    });
    answerWith(body => {
      typeInto(body.parameterInputs()[0].value, '"changed"');
      typeInto(body.input('pool'), 'gpu');
    });
    answerWith(() => undefined);

    const reply = await runNotebookWithDialog(service, {
      path: 'x.ipynb',
      parameters: { alpha: '1' }
    });

    expect(reply?.submission_id).toBe('ok');
    const second: RunNotebookDialog = mockShowDialog.mock.calls[1][0].body;
    const alert = second.node.querySelector('[role="alert"]')!;
    expect(alert.textContent).toBe(
      `The server refused the job: No notebook ${HOSTILE}.`
    );
    expect(second.node.querySelector('img')).toBeNull();
    expect(second.parameterTexts).toEqual({ alpha: '"changed"' });
    expect(second.values.pool).toBe('gpu');
    expect(mockRequest.mock.calls[1][1].body).toBe(
      JSON.stringify({
        path: 'x.ipynb',
        parameters: { alpha: 'changed' },
        pool: 'gpu'
      })
    );
  });
});

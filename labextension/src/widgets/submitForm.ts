/**
 * The submission forms' values and how they become a `POST jobs` or
 * `POST notebook-jobs` body: the fields, their checks and the parsing of
 * sizes, package lists and JSON objects. `SubmitJobDialog` and
 * `RunNotebookDialog` render them; these functions need no DOM.
 */

import type { NotebookSubmitRequest, SubmitRequest } from '../api/types';

/**
 * How a field is shown: its label, its input's type (default `text`) and
 * attributes.
 */
export interface IFieldSpec {
  label: string;
  type?: string;
  attrs: Record<string, string>;
}

/** Every field of the form, in display order. */
export const FIELD_SPECS = {
  entrypoint: {
    label: 'Entrypoint',
    attrs: {
      required: '',
      'aria-required': 'true',
      placeholder: 'python train.py --epochs 3'
    }
  },
  submissionId: {
    label: 'Submission ID',
    attrs: { placeholder: 'generated when empty' }
  },
  name: { label: 'Job name', attrs: {} },
  cpus: { label: 'CPUs', type: 'number', attrs: { min: '0', step: 'any' } },
  gpus: { label: 'GPUs', type: 'number', attrs: { min: '0', step: 'any' } },
  memory: { label: 'Memory', attrs: { placeholder: 'bytes, or e.g. 2GiB' } },
  pool: { label: 'Pool', attrs: {} },
  pip: { label: 'pip packages', attrs: { placeholder: 'numpy, pandas>=2' } },
  resources: {
    label: 'Custom resources',
    attrs: { placeholder: 'JSON, e.g. {"accelerator_type:A100": 1}' }
  },
  runtimeEnv: {
    label: 'runtime_env',
    attrs: { placeholder: 'JSON, e.g. {"env_vars": {"SEED": "1"}}' }
  },
  kernel: { label: 'Kernel', attrs: { placeholder: "the notebook's own" } }
} satisfies Record<string, IFieldSpec>;

/** A field of a form. */
export type Field = keyof typeof FIELD_SPECS;

/** The fields of the `Submit a Ray job` form, in display order. */
export const FIELDS: ReadonlyArray<Field> = [
  'entrypoint',
  'submissionId',
  'name',
  'cpus',
  'gpus',
  'memory',
  'pool',
  'pip'
];

/** The job options of the `Run as Ray job` form, in display order. */
export const NOTEBOOK_FIELDS: ReadonlyArray<Field> = [
  'submissionId',
  'name',
  'cpus',
  'gpus',
  'memory',
  'pool',
  'resources',
  'runtimeEnv',
  'kernel'
];

/** The raw text of every field. */
export type IValues = Record<Field, string>;

/** The problems of a form's fields, in words, by field. */
export type Problems = Partial<Record<Field, string>>;

/** An empty form. */
export const EMPTY = (Object.keys(FIELD_SPECS) as Field[]).reduce(
  (values, field) => ({ ...values, [field]: '' }),
  {} as IValues
);

/** The problem shown for a count that is not a number of at least 0. */
export const NUMBER_PROBLEM = 'Enter a number of at least 0.';

/** The pattern of a submission id, as the server checks it. */
export const SUBMISSION_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/**
 * Check raw form values: the problems of `fields` (default those of
 * `Submit a Ray job`), by field; empty when valid.
 */
export function validateValues(
  values: IValues,
  fields: ReadonlyArray<Field> = FIELDS
): Problems {
  const problems: Problems = {};
  for (const field of fields) {
    const problem = CHECKS[field]?.(values[field].trim());
    if (problem) {
      problems[field] = problem;
    }
  }
  return problems;
}

/**
 * Build the `POST jobs` body from raw form values; empty and invalid
 * fields are left out.
 */
export function toRequest(values: IValues): SubmitRequest {
  const pip = parsePackages(values.pip);
  return {
    entrypoint: values.entrypoint.trim(),
    ...jobOptions(values),
    ...(pip.length ? { runtime_env: { pip } } : {})
  };
}

/**
 * Build the `POST notebook-jobs` body of a notebook (`path` relative to the
 * Jupyter root) from raw form values and the parameters' values, by name;
 * empty and invalid fields are left out.
 */
export function toNotebookRequest(
  path: string,
  values: IValues,
  parameters: Record<string, unknown>
): NotebookSubmitRequest {
  const resources = parseJsonObject(values.resources);
  const runtimeEnv = parseJsonObject(values.runtimeEnv);
  const kernel = values.kernel.trim();
  return {
    path,
    parameters,
    ...jobOptions(values),
    ...(resources && Object.keys(resources).length
      ? { entrypoint_resources: resources as Record<string, number> }
      : {}),
    ...(runtimeEnv && Object.keys(runtimeEnv).length
      ? { runtime_env: runtimeEnv }
      : {}),
    ...(kernel ? { kernel_name: kernel } : {})
  };
}

/**
 * Parse a JSON object (`runtime_env`, custom resources): empty text is an
 * empty object; null when the text is not a JSON object.
 */
function parseJsonObject(text: string): Record<string, unknown> | null {
  if (!text.trim()) {
    return {};
  }
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

/**
 * The options both forms share, as the request bodies name them:
 * submission id, job name, CPUs, GPUs, memory and pool; empty and invalid
 * ones left out.
 */
function jobOptions(values: IValues): Omit<SubmitRequest, 'entrypoint'> {
  const id = values.submissionId.trim();
  const name = values.name.trim();
  const pool = values.pool.trim();
  const cpus = parseCount(values.cpus.trim());
  const gpus = parseCount(values.gpus.trim());
  const memory = parseBytes(values.memory);
  return {
    ...(id ? { submission_id: id } : {}),
    ...(name ? { metadata: { name } } : {}),
    ...(cpus === null ? {} : { entrypoint_num_cpus: cpus }),
    ...(gpus === null ? {} : { entrypoint_num_gpus: gpus }),
    ...(memory === null ? {} : { entrypoint_memory: memory }),
    ...(pool ? { pool } : {})
  };
}

/**
 * Parse a size into whole bytes: plain bytes, or a number with a unit (`K`,
 * `KB`, `KiB`, ... up to `T`), decimal units in powers of 1000, binary in
 * powers of 1024; null when it is not a size of at least 0.
 */
export function parseBytes(text: string): number | null {
  const match = /^(\d+(?:\.\d*)?|\.\d+)\s*([kmgt]i?b?|b)?$/i.exec(text.trim());
  if (!match) {
    return null;
  }
  const value = Number(match[1]);
  const unit = (match[2] ?? 'b').toLowerCase();
  const powers: Record<string, number> = { b: 0, k: 1, m: 2, g: 3, t: 4 };
  const power = powers[unit[0]] ?? 0;
  const base = unit.includes('i') || unit.length === 1 ? 1024 : 1000;
  const bytes = Math.round(value * base ** power);
  return Number.isFinite(bytes) && bytes >= 0 ? bytes : null;
}

/**
 * Split a list of pip requirements on commas, newlines and spaces, keeping
 * version specifiers such as `pandas >= 2` together.
 */
export function parsePackages(text: string): string[] {
  return text
    .replace(/\s*(===|==|>=|<=|~=|!=|<|>)\s*/g, '$1')
    .split(/[\s,]+/)
    .map(part => part.trim())
    .filter(part => part.length > 0);
}

/** Parse a count of CPUs or GPUs; null unless a number of at least 0. */
function parseCount(text: string): number | null {
  if (!/^(\d+(?:\.\d*)?|\.\d+)$/.test(text)) {
    return null;
  }
  const value = Number(text);
  return Number.isFinite(value) && value >= 0 ? value : null;
}

/** The check of each field's trimmed text: its problem, or null. */
const CHECKS: Partial<Record<Field, (text: string) => string | null>> = {
  entrypoint: text => (text ? null : 'Entrypoint is required.'),
  submissionId: text =>
    text && !SUBMISSION_ID_PATTERN.test(text)
      ? 'Use up to 64 letters, digits, "_", "." or "-", starting with a letter or digit.'
      : null,
  cpus: countProblem,
  gpus: countProblem,
  memory: text =>
    text && parseBytes(text) === null
      ? 'Enter a size of at least 0: bytes, or a number with a unit (512MiB, 2GiB, 1GB).'
      : null,
  resources: text => {
    const value = parseJsonObject(text);
    return value &&
      Object.values(value).every(n => typeof n === 'number' && n >= 0)
      ? null
      : 'Enter a JSON object of resource names and amounts of at least 0, e.g. {"A100": 1}.';
  },
  runtimeEnv: text =>
    parseJsonObject(text)
      ? null
      : 'Enter a JSON object, e.g. {"env_vars": {"SEED": "1"}}, or leave it empty.'
};

/** The problem of a CPU or GPU count, or null when empty or valid. */
function countProblem(text: string): string | null {
  return text && parseCount(text) === null ? NUMBER_PROBLEM : null;
}

/**
 * The submission form's values and how they become a `POST jobs` body:
 * the fields, their checks and the parsing of sizes and package lists.
 * `SubmitJobDialog` renders them; these functions need no DOM.
 */

import type { SubmitRequest } from '../api/types';

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
  pip: { label: 'pip packages', attrs: { placeholder: 'numpy, pandas>=2' } }
} satisfies Record<string, IFieldSpec>;

/** A field of the form. */
export type Field = keyof typeof FIELD_SPECS;

/** Every field, in display order. */
export const FIELDS = Object.keys(FIELD_SPECS) as ReadonlyArray<Field>;

/** The raw text of every field. */
export type IValues = Record<Field, string>;

/** An empty form. */
export const EMPTY = FIELDS.reduce(
  (values, field) => ({ ...values, [field]: '' }),
  {} as IValues
);

/** The problem shown for a count that is not a number of at least 0. */
export const NUMBER_PROBLEM = 'Enter a number of at least 0.';

/** The pattern of a submission id, as the server checks it. */
export const SUBMISSION_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/**
 * Check raw form values.
 *
 * @param values The raw values.
 * @returns The problems, by field; empty when valid.
 */
export function validateValues(
  values: IValues
): Partial<Record<Field, string>> {
  const problems: Partial<Record<Field, string>> = {};
  if (!values.entrypoint.trim()) {
    problems.entrypoint = 'Entrypoint is required.';
  }
  const id = values.submissionId.trim();
  if (id && !SUBMISSION_ID_PATTERN.test(id)) {
    problems.submissionId =
      'Use up to 64 letters, digits, "_", "." or "-", starting with a letter or digit.';
  }
  for (const field of ['cpus', 'gpus'] as const) {
    const text = values[field].trim();
    if (text && parseCount(text) === null) {
      problems[field] = NUMBER_PROBLEM;
    }
  }
  const memory = values.memory.trim();
  if (memory && parseBytes(memory) === null) {
    problems.memory =
      'Enter a size of at least 0: bytes, or a number with a unit (512MiB, 2GiB, 1GB).';
  }
  return problems;
}

/**
 * Build the `POST jobs` body from raw form values; empty and invalid
 * fields are left out.
 *
 * @param values The raw values.
 * @returns The submission.
 */
export function toRequest(values: IValues): SubmitRequest {
  const id = values.submissionId.trim();
  const name = values.name.trim();
  const pool = values.pool.trim();
  const cpus = parseCount(values.cpus.trim());
  const gpus = parseCount(values.gpus.trim());
  const memory = parseBytes(values.memory);
  const pip = parsePackages(values.pip);
  return {
    entrypoint: values.entrypoint.trim(),
    ...(id ? { submission_id: id } : {}),
    ...(name ? { metadata: { name } } : {}),
    ...(cpus === null ? {} : { entrypoint_num_cpus: cpus }),
    ...(gpus === null ? {} : { entrypoint_num_gpus: gpus }),
    ...(memory === null ? {} : { entrypoint_memory: memory }),
    ...(pool ? { pool } : {}),
    ...(pip.length ? { runtime_env: { pip } } : {})
  };
}

/**
 * Parse a size: plain bytes, or a number with a unit (`K`, `KB`, `KiB`,
 * ... up to `T`), decimal units in powers of 1000, binary in powers of 1024.
 *
 * @param text The size.
 * @returns Whole bytes, or null when it is not a size of at least 0.
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
 *
 * @param text The requirements.
 * @returns The requirements, without empty entries.
 */
export function parsePackages(text: string): string[] {
  return text
    .replace(/\s*(===|==|>=|<=|~=|!=|<|>)\s*/g, '$1')
    .split(/[\s,]+/)
    .map(part => part.trim())
    .filter(part => part.length > 0);
}

/**
 * Parse a count of CPUs or GPUs.
 *
 * @param text The count.
 * @returns The number, or null unless a finite number of at least 0.
 */
function parseCount(text: string): number | null {
  if (!/^(\d+(?:\.\d*)?|\.\d+)$/.test(text)) {
    return null;
  }
  const value = Number(text);
  return Number.isFinite(value) && value >= 0 ? value : null;
}

/**
 * Expectation suites in Great Expectations' JSON formats: GX 0.x (`expectation_suite_name`,
 * `expectations[].expectation_type`), GX 1.x (`name`, `expectations[].type`, `id`) and the Hopsworks expectation-suite
 * DTO (`expectationSuiteName`, `expectations[].expectationType`, kwargs/meta as JSON strings).
 * Unknown kwargs and meta are kept as they are; unknown expectation types are kept and reported at validation time.
 */
import { invalidSpec } from '@strata/core';

export interface ExpectationConfig {
  /** GE expectation type, e.g. `expect_column_values_to_not_be_null`. */
  type: string;
  kwargs: Record<string, unknown>;
  meta: Record<string, unknown>;
  id?: string;
  /** GX 1.x severity (critical, warning, info); kept for round trips. */
  severity?: string;
}

export interface ExpectationSuite {
  name: string;
  expectations: ExpectationConfig[];
  meta: Record<string, unknown>;
  id?: string;
  notes?: unknown;
  /** The format the suite was read from. */
  sourceFormat: 'gx0' | 'gx1' | 'hopsworks' | 'strata';
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function parseJsonField(value: unknown, where: string, field: string): Record<string, unknown> {
  if (value === undefined || value === null || value === '') return {};
  if (isObject(value)) return { ...value };
  if (typeof value === 'string') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch (err) {
      throw invalidSpec(`${field} is not valid JSON: ${(err as Error).message}`, {
        where,
        hint: `write ${field} as a JSON object (or a JSON string holding an object, as Hopsworks does)`,
        cause: err,
      });
    }
    if (isObject(parsed)) return parsed;
  }
  throw invalidSpec(`${field} must be an object`, { where, hint: `write ${field} as a JSON object such as {"column": "x"}` });
}

/**
 * Reads a suite from any supported format. `json` may be a parsed object or a JSON string.
 * Throws StrataError INVALID_SPEC (with where/hint) for malformed input.
 */
export function parseSuite(json: unknown, opts: { source?: string } = {}): ExpectationSuite {
  const src = opts.source ?? 'suite';
  let doc = json;
  if (typeof doc === 'string') {
    try {
      doc = JSON.parse(doc);
    } catch (err) {
      throw invalidSpec(`expectation suite is not valid JSON: ${(err as Error).message}`, {
        where: src,
        hint: 'check the file with a JSON linter; GE suites are JSON objects with an "expectations" array',
        cause: err,
      });
    }
  }
  if (!isObject(doc)) {
    throw invalidSpec('expectation suite must be a JSON object', {
      where: src,
      hint: 'expected {"name": ..., "expectations": [...]} (GX 1.x) or {"expectation_suite_name": ..., ...} (GX 0.x)',
    });
  }
  const hopsworks =
    'expectationSuiteName' in doc ||
    (Array.isArray(doc.expectations) && doc.expectations.some((e) => isObject(e) && 'expectationType' in e));
  const gx0 =
    !hopsworks &&
    ('expectation_suite_name' in doc ||
      (Array.isArray(doc.expectations) && doc.expectations.some((e) => isObject(e) && 'expectation_type' in e)));
  const format: ExpectationSuite['sourceFormat'] = hopsworks ? 'hopsworks' : gx0 ? 'gx0' : 'gx1';
  const rawName = hopsworks
    ? doc.expectationSuiteName
    : gx0
      ? doc.expectation_suite_name
      : (doc.name ?? doc.expectation_suite_name);
  const name = rawName === undefined || rawName === null ? 'default' : String(rawName);
  if (doc.expectations === undefined || doc.expectations === null) {
    throw invalidSpec('expectation suite has no "expectations" list: it would check nothing', {
      where: src,
      hint: 'write "expectations": [ {"type": "expect_...", "kwargs": {...}}, ... ] (an empty list [] says so on purpose)',
    });
  }
  const rawExpectations = doc.expectations;
  if (!Array.isArray(rawExpectations)) {
    throw invalidSpec('"expectations" must be an array', {
      where: `${src}.expectations`,
      hint: 'write "expectations": [ {...}, ... ]',
    });
  }
  const expectations = rawExpectations.map((e, i): ExpectationConfig => {
    const where = `${src}.expectations[${i}]`;
    if (!isObject(e))
      throw invalidSpec('expectation must be an object', { where, hint: 'write {"type": "expect_...", "kwargs": {...}}' });
    const type = e.type ?? e.expectation_type ?? e.expectationType;
    if (typeof type !== 'string' || type.trim() === '') {
      throw invalidSpec('expectation has no type', {
        where,
        hint: 'set "type" (GX 1.x), "expectation_type" (GX 0.x) or "expectationType" (Hopsworks)',
      });
    }
    const kwargs = parseJsonField(e.kwargs, where, 'kwargs');
    const meta = parseJsonField(e.meta, where, 'meta');
    const out: ExpectationConfig = { type: type.trim(), kwargs, meta };
    const id = e.id ?? (hopsworks && meta.expectationId !== undefined ? meta.expectationId : undefined);
    if (id !== undefined && id !== null) out.id = String(id);
    if (typeof e.severity === 'string') out.severity = e.severity;
    return out;
  });
  const meta = parseJsonField(doc.meta, `${src}.meta`, 'meta');
  const suite: ExpectationSuite = { name, expectations, meta, sourceFormat: format };
  if (doc.id !== undefined && doc.id !== null) suite.id = String(doc.id);
  if (doc.notes !== undefined && doc.notes !== null) suite.notes = doc.notes;
  return suite;
}

/** Writes a GX 1.x suite (`name`, `expectations[].type`, `kwargs`, `meta`, `id`). */
export function suiteToGx1(suite: ExpectationSuite): Record<string, unknown> {
  return {
    name: suite.name,
    id: suite.id ?? null,
    expectations: suite.expectations.map((e) => ({
      type: e.type,
      kwargs: e.kwargs,
      meta: e.meta,
      id: e.id ?? null,
      ...(e.severity ? { severity: e.severity } : {}),
    })),
    meta: suite.meta,
    notes: suite.notes ?? null,
  };
}

/** Writes Hopsworks' ExpectationSuite DTO: kwargs and meta as JSON strings. */
export function suiteToHopsworks(suite: ExpectationSuite): Record<string, unknown> {
  return {
    expectationSuiteName: suite.name,
    ...(suite.id !== undefined && /^\d+$/.test(suite.id) ? { id: Number(suite.id) } : {}),
    expectations: suite.expectations.map((e) => ({
      expectationType: e.type,
      kwargs: JSON.stringify(e.kwargs),
      meta: JSON.stringify(e.id !== undefined && /^\d+$/.test(e.id) ? { ...e.meta, expectationId: Number(e.id) } : e.meta),
      ...(e.id !== undefined && /^\d+$/.test(e.id) ? { id: Number(e.id) } : {}),
    })),
    meta: JSON.stringify(suite.meta),
    dataAssetType: null,
    geCloudId: null,
    runValidation: true,
    validationIngestionPolicy: 'ALWAYS',
  };
}

function resolveValue(value: unknown, params: Record<string, unknown>, where: string): unknown {
  if (Array.isArray(value)) return value.map((v, i) => resolveValue(v, params, `${where}[${i}]`));
  if (isObject(value)) {
    const keys = Object.keys(value);
    if (keys.length === 1 && keys[0] === '$PARAMETER') {
      const name = value.$PARAMETER;
      if (typeof name !== 'string')
        throw invalidSpec('$PARAMETER must name a parameter', { where, hint: 'write {"$PARAMETER": "name"}' });
      if (!(name in params)) {
        throw invalidSpec(`parameter '${name}' is not set`, {
          where,
          hint: `pass it in runParameters (known: ${Object.keys(params).join(', ') || 'none'})`,
          details: { parameter: name },
        });
      }
      return params[name];
    }
    const out: Record<string, unknown> = {};
    for (const k of keys) out[k] = resolveValue(value[k], params, `${where}.${k}`);
    return out;
  }
  return value;
}

/** Replaces every `{"$PARAMETER": "name"}` in kwargs by `params[name]`; a missing parameter is an INVALID_SPEC error. */
export function resolveParameters(suite: ExpectationSuite, params: Record<string, unknown>): ExpectationSuite {
  return {
    ...suite,
    expectations: suite.expectations.map((e, i) => ({
      ...e,
      kwargs: resolveValue(e.kwargs, params, `${suite.name}.expectations[${i}].kwargs`) as Record<string, unknown>,
    })),
  };
}

/** True when kwargs still hold a `$PARAMETER` reference. */
export function hasParameterRefs(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(hasParameterRefs);
  if (isObject(value)) return '$PARAMETER' in value || Object.values(value).some(hasParameterRefs);
  return false;
}

/**
 * Runs a TypeScript transformation on one window: in a worker thread (so a function that hangs can be stopped at its
 * time limit), on Arrow IPC bytes in and out, with the host's Arrow. Any failure is TRANSFORM_FAILED (not retryable)
 * with the function's own message and stack.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { fromArrowType, StrataError, type ValueTypeName } from '@strata/core';
import * as arrow from 'apache-arrow';
import { ARROW_GLOBAL } from './code.js';

const THREAD = `
const { parentPort, workerData } = require('node:worker_threads');
const A = require(workerData.arrowPath);
globalThis.${ARROW_GLOBAL} = A;
(async () => {
  try {
    const url = 'data:text/javascript;base64,' + workerData.code;
    globalThis.__strataUrl = url;
    const mod = await import(url);
    const fn = mod[workerData.exportName];
    if (typeof fn !== 'function') {
      throw new TypeError('the module has no exported function ' + JSON.stringify(workerData.exportName) + ' (exports: ' + Object.keys(mod).join(', ') + ')');
    }
    const input = A.tableFromIPC(workerData.input);
    parentPort.postMessage({ ready: true });
    const out = await fn(input, workerData.context);
    if (!(out instanceof A.Table)) {
      throw new TypeError('the function must return an Arrow Table; it returned ' + (out === null ? 'null' : typeof out === 'object' ? (out.constructor && out.constructor.name) || 'an object' : typeof out));
    }
    const bytes = A.tableToIPC(out, 'stream');
    parentPort.postMessage({ ok: true, bytes }, [bytes.buffer]);
  } catch (e) {
    parentPort.postMessage({ ok: false, name: (e && e.name) || 'Error', message: String((e && e.message) || e), stack: e && e.stack ? String(e.stack).split(globalThis.__strataUrl).join(workerData.label) : undefined });
  }
})();
`;

const LOAD_TIMEOUT_MS = 60_000;

export interface TransformRun {
  code: string;
  exportName?: string;
  timeoutMs: number;
  /** What the function gets as its second argument: the window and the view. */
  context: { view: string; windowStart: string; windowEnd: string };
  where: string;
}

function transformFailed(message: string, run: TransformRun, details: Record<string, unknown> = {}): StrataError {
  return new StrataError('TRANSFORM_FAILED', message, {
    where: run.where,
    hint: 'fix the transformation and apply it again; the window commits nothing until then',
    details,
  });
}

export async function runTransformation(input: arrow.Table, run: TransformRun): Promise<arrow.Table> {
  const arrowPath = createRequire(import.meta.url).resolve('apache-arrow');
  const bytes = arrow.tableToIPC(input, 'stream');
  const worker = new Worker(THREAD, {
    eval: true,
    workerData: {
      arrowPath,
      code: Buffer.from(run.code).toString('base64'),
      exportName: run.exportName ?? 'default',
      input: bytes,
      context: run.context,
      label: `transformation:${run.context.view}`,
    },
    transferList: [bytes.buffer as ArrayBuffer],
    resourceLimits: { maxOldGenerationSizeMb: 2048 },
    stdout: false,
    stderr: false,
  });
  return new Promise<arrow.Table>((resolveRun, reject) => {
    // The time limit counts from the call of the function (loading the thread and the module does not count).
    let timer: NodeJS.Timeout | undefined;
    const limit = (ms: number, message: string) => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        void worker.terminate();
        reject(transformFailed(message, run, { timeoutMs: ms }));
      }, ms);
    };
    limit(LOAD_TIMEOUT_MS, `the transformation module did not load within ${LOAD_TIMEOUT_MS / 1000} s (stopped)`);
    const done = () => {
      clearTimeout(timer);
      void worker.terminate();
    };
    type Message =
      | { ready: true }
      | { ok: true; bytes: Uint8Array }
      | { ok: false; name: string; message: string; stack?: string };
    worker.on('message', (m: Message) => {
      if ('ready' in m) {
        limit(run.timeoutMs, `the transformation did not finish within ${run.timeoutMs / 1000} s (stopped)`);
        return;
      }
      done();
      if (m.ok) resolveRun(arrow.tableFromIPC(m.bytes));
      else {
        const e = transformFailed(`the transformation threw ${m.name}: ${m.message}`, run, {
          error: { name: m.name, message: m.message, stack: m.stack },
        });
        // The function's own stack is the error's stack, so the Temporal UI and logs show where it threw.
        if (m.stack) e.stack = `${e.name}: ${e.message}\n${m.stack.split('\n').slice(1).join('\n')}`;
        reject(e);
      }
    });
    worker.once('error', (err) => {
      done();
      reject(
        transformFailed(`the transformation crashed: ${err.message}`, run, { error: { message: err.message, stack: err.stack } }),
      );
    });
    worker.once('exit', (code) => {
      clearTimeout(timer);
      reject(transformFailed(`the transformation's thread exited (code ${code}) without a result`, run));
    });
  });
}

/** Arrow type families a view's value type accepts. */
function accepts(valueType: ValueTypeName, type: arrow.DataType): boolean {
  if (arrow.DataType.isNull(type)) return true;
  switch (valueType) {
    case 'INT32':
    case 'INT64':
      return arrow.DataType.isInt(type);
    case 'FLOAT':
    case 'DOUBLE':
      return arrow.DataType.isFloat(type) || arrow.DataType.isInt(type) || arrow.DataType.isDecimal(type);
    case 'STRING':
      return arrow.DataType.isUtf8(type) || arrow.DataType.isLargeUtf8(type) || arrow.DataType.isDictionary(type);
    case 'BOOL':
      return arrow.DataType.isBool(type);
    case 'BYTES':
      return arrow.DataType.isBinary(type) || arrow.DataType.isLargeBinary(type);
    case 'UNIX_TIMESTAMP':
      return arrow.DataType.isTimestamp(type) || arrow.DataType.isDate(type);
    default:
      return arrow.DataType.isList(type);
  }
}

/**
 * Checks a transformation's output against the view: every key, time and feature column present with a compatible
 * type. Extra columns are an error too (they would be dropped silently otherwise).
 */
export function checkTransformOutput(
  out: arrow.Table,
  columns: { name: string; valueType: ValueTypeName }[],
  run: Pick<TransformRun, 'where'>,
): void {
  const problems: string[] = [];
  const fields = new Map(out.schema.fields.map((f) => [f.name, f]));
  for (const c of columns) {
    const f = fields.get(c.name);
    if (!f) problems.push(`column '${c.name}' (${c.valueType}) is missing`);
    else if (!accepts(c.valueType, f.type)) {
      let got: string = String(f.type);
      try {
        got = `${fromArrowType(f.type)} (${String(f.type)})`;
      } catch {}
      problems.push(`column '${c.name}' should be ${c.valueType} but is ${got}`);
    }
  }
  const known = new Set(columns.map((c) => c.name));
  const extra = out.schema.fields.map((f) => f.name).filter((n) => !known.has(n));
  if (extra.length) problems.push(`unexpected column(s) ${extra.join(', ')}`);
  if (problems.length) {
    throw new StrataError('TRANSFORM_FAILED', `the transformation returned the wrong columns or types: ${problems.join('; ')}`, {
      where: run.where,
      hint: `return exactly the view's columns: ${columns.map((c) => `${c.name} ${c.valueType}`).join(', ')}`,
      details: { problems, got: out.schema.fields.map((f) => ({ name: f.name, type: String(f.type) })) },
    });
  }
}

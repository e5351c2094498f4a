/** validateAndProfile: validation and statistics in one streaming pass over record batches. */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import * as arrow from 'apache-arrow';
import { BatchView } from './columns.js';
import { type Profile, Profiler, type ProfilerOptions } from './profile.js';
import type { ExpectationSuite } from './suite.js';
import { batchToWire, schemaToWire, wireable } from './transfer.js';
import { SuiteValidator, type SuiteValidatorOptions, type ValidationResult } from './validator.js';

export interface ValidateAndProfileOptions extends SuiteValidatorOptions {
  profile?: ProfilerOptions | false;
  /** Called after each batch with the rows seen so far (for heartbeats / progress). */
  onProgress?: (rows: number) => void;
  /**
   * Profile on a worker thread while the suite runs on this one (the two halves of the pass on two cores).
   * 'auto' (default): on a worker when the built worker script is there (run from TypeScript sources it is not) and
   * the first batch has at least 16384 rows. true / a URL: on a worker (that script). false: on this thread. The
   * profile is the same either way. The thread is kept, idle and unreferenced, for the next call, so its compiled
   * code is warm (see docs/validation.md, Benchmark).
   */
  profileWorker?: boolean | 'auto' | URL;
}

const WORKER_MIN_ROWS = 16_384;
/** Batches sent to the profiling worker and not yet profiled, at most. */
const IN_FLIGHT = 3;

function workerScript(opt: ValidateAndProfileOptions['profileWorker']): URL | undefined {
  if (opt === false || opt === undefined) return undefined;
  const url = opt instanceof URL ? opt : new URL('./profile-worker.js', import.meta.url);
  // run from TypeScript sources (tests), there is no .js beside this file: profile inline
  return url.protocol === 'file:' && existsSync(fileURLToPath(url)) ? url : undefined;
}

/** This process's Node flags without custom export conditions: the built worker script loads built packages. */
function plainExecArgv(): string[] {
  const out: string[] = [];
  const args = process.execArgv;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--conditions' || a === '-C') i++;
    else if (!a.startsWith('--conditions=') && !a.startsWith('-C=')) out.push(a);
  }
  return out;
}

/**
 * The profiler on a worker thread, fed batches as buffers (IPC for dictionaries) with at most IN_FLIGHT unprofiled.
 * A worker that finished cleanly waits, unreferenced, for the next validateAndProfile (`take`), so its compiled code
 * is warm; one that failed or was stopped half-way is terminated.
 */
class ProfileWorker {
  private static idle = new Map<string, ProfileWorker[]>();
  private readonly worker: Worker;
  private inFlight = 0;
  private waiting: (() => void) | undefined;
  private failure: Error | undefined;
  private result: ((p: Profile) => void) | undefined;
  private schema: arrow.Schema | undefined;
  private wired = false;

  /** A worker for a new profile: an idle one of this script, else a new thread. */
  static take(script: URL, options: ProfilerOptions): ProfileWorker {
    const pooled = ProfileWorker.idle.get(script.href)?.pop();
    if (pooled) {
      pooled.worker.ref();
      pooled.worker.postMessage({ kind: 'start', options });
      return pooled;
    }
    return new ProfileWorker(script, options);
  }

  private constructor(
    private readonly script: URL,
    options: ProfilerOptions,
  ) {
    this.worker = new Worker(script, { workerData: { options }, execArgv: plainExecArgv() });
    this.worker.on('message', (m: { kind: string; profile?: Profile; message?: string }) => {
      if (m.kind === 'ack') this.inFlight--;
      else if (m.kind === 'profile') this.result?.(m.profile!);
      else this.failure = new Error(`profiling worker: ${m.message}`);
      this.wake();
    });
    this.worker.on('error', (err) => {
      this.failure = err;
      this.wake();
    });
    this.worker.on('exit', () => {
      this.failure ??= new Error('profiling worker: the thread exited');
      const list = ProfileWorker.idle.get(this.script.href);
      const at = list?.indexOf(this) ?? -1;
      if (at >= 0) list!.splice(at, 1);
      this.wake();
    });
  }
  private wake(): void {
    const w = this.waiting;
    this.waiting = undefined;
    w?.();
  }
  private check(): void {
    if (this.failure) throw this.failure;
  }
  async send(batch: arrow.RecordBatch): Promise<void> {
    this.check();
    while (this.inFlight >= IN_FLIGHT) {
      await new Promise<void>((resolve) => {
        this.waiting = resolve;
      });
      this.check();
    }
    this.inFlight++;
    if (batch.schema !== this.schema) {
      // a new schema (the first batch, or a stream whose schema changed): say it once, then send buffers only
      this.schema = batch.schema;
      this.wired = wireable(batch.schema);
      if (this.wired) {
        const schema = schemaToWire(batch.schema);
        this.worker.postMessage({ kind: 'schema', schema }, [schema.buffer as ArrayBuffer]);
      }
    }
    if (this.wired) {
      const { wire, transfer } = batchToWire(batch);
      this.worker.postMessage({ kind: 'wire', wire }, transfer);
    } else {
      const ipc = arrow.tableToIPC(new arrow.Table([batch]), 'stream');
      this.worker.postMessage({ kind: 'batch', ipc }, [ipc.buffer as ArrayBuffer]);
    }
  }
  /** The profile; the worker then waits for the next one. */
  async finish(): Promise<Profile> {
    this.check();
    const p = new Promise<Profile>((resolve, reject) => {
      this.result = resolve;
      this.waiting = () => {
        if (this.failure) reject(this.failure);
      };
    });
    this.worker.postMessage({ kind: 'finish' });
    const profile = await p;
    this.result = undefined;
    this.schema = undefined;
    this.worker.unref();
    const list = ProfileWorker.idle.get(this.script.href) ?? [];
    list.push(this);
    ProfileWorker.idle.set(this.script.href, list);
    return profile;
  }
  /** Ends the thread (a profile stopped half-way, or failed). */
  async stop(): Promise<void> {
    await this.worker.terminate();
  }
}

export async function validateAndProfile(
  batches: AsyncIterable<arrow.RecordBatch | arrow.Table> | Iterable<arrow.RecordBatch | arrow.Table>,
  suite?: ExpectationSuite,
  opts: ValidateAndProfileOptions = {},
): Promise<{ result?: ValidationResult; profile: Profile }> {
  const validator = suite ? new SuiteValidator(suite, opts) : undefined;
  const profileOpts = opts.profile === false ? {} : (opts.profile ?? {});
  const profiler = new Profiler(profileOpts);
  const script = opts.profile === false ? undefined : workerScript(opts.profileWorker ?? 'auto');
  let worker: ProfileWorker | undefined;
  let decided = false;
  let rows = 0;
  let seq = 0;
  try {
    for await (const item of batches as AsyncIterable<arrow.RecordBatch | arrow.Table>) {
      const list = item instanceof arrow.Table ? item.batches : [item];
      for (const batch of list) {
        if (!decided) {
          decided = true;
          const forced = opts.profileWorker === true || opts.profileWorker instanceof URL;
          if (script && (forced || batch.numRows >= WORKER_MIN_ROWS)) worker = ProfileWorker.take(script, profileOpts);
        }
        // the worker profiles this batch while the suite runs on it here
        const sent = worker?.send(batch);
        const view = new BatchView(batch, rows, seq++);
        validator?.updateView(view);
        if (opts.profile !== false && !worker) profiler.update(view);
        await sent;
        rows += batch.numRows;
      }
      opts.onProgress?.(rows);
    }
    const profile = worker ? await worker.finish() : profiler.finish();
    worker = undefined;
    profile.rowCount = rows;
    return validator ? { result: validator.finish(), profile } : { profile };
  } finally {
    await worker?.stop();
  }
}

/**
 * The profiler on a worker thread (validateAndProfile's `profileWorker`): record batches arrive as their columns'
 * buffers after a schema message (transfer.ts), or as Arrow IPC bytes for schemas with dictionaries,
 * each is acknowledged once profiled (the sender keeps a few in flight, so memory stays bounded), and `finish` answers
 * with the profile. The same Profiler code as on the main thread, fed the same batches in the same order. `start`
 * begins a new profile: the thread serves one validateAndProfile after another (its compiled code stays warm).
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as arrow from 'apache-arrow';
import { Profiler, type ProfilerOptions } from './profile.js';
import { batchFromWire, schemaFromWire, type WireBatch } from './transfer.js';

type Msg =
  | { kind: 'batch'; ipc: Uint8Array }
  | { kind: 'schema'; schema: Uint8Array }
  | { kind: 'wire'; wire: WireBatch }
  | { kind: 'start'; options: ProfilerOptions }
  | { kind: 'finish' };

const port = parentPort;
if (port) {
  let profiler = new Profiler((workerData as { options?: ProfilerOptions } | undefined)?.options ?? {});
  let schema: arrow.Schema | undefined;
  port.on('message', (m: Msg) => {
    try {
      if (m.kind === 'start') {
        profiler = new Profiler(m.options);
        schema = undefined;
      } else if (m.kind === 'schema') schema = schemaFromWire(m.schema);
      else if (m.kind === 'wire') {
        if (!schema) throw new Error('a batch arrived before its schema');
        profiler.update(batchFromWire(schema, m.wire));
        port.postMessage({ kind: 'ack' });
      } else if (m.kind === 'batch') {
        for (const b of arrow.tableFromIPC(m.ipc).batches) profiler.update(b);
        port.postMessage({ kind: 'ack' });
      } else {
        port.postMessage({ kind: 'profile', profile: profiler.finish() });
      }
    } catch (err) {
      port.postMessage({ kind: 'error', message: (err as Error).message, stack: (err as Error).stack });
    }
  });
}

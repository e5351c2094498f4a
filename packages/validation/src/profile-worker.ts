/**
 * The profiler on a worker thread (validateAndProfile's `profileWorker`): record batches arrive as Arrow IPC bytes,
 * each is acknowledged once profiled (the sender keeps a few in flight, so memory stays bounded), and `finish` answers
 * with the profile. The same Profiler code as on the main thread, fed the same batches in the same order.
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as arrow from 'apache-arrow';
import { Profiler, type ProfilerOptions } from './profile.js';

type Msg = { kind: 'batch'; ipc: Uint8Array } | { kind: 'finish' };

const port = parentPort;
if (port) {
  const profiler = new Profiler((workerData as { options?: ProfilerOptions } | undefined)?.options ?? {});
  port.on('message', (m: Msg) => {
    try {
      if (m.kind === 'batch') {
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

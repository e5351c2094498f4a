/**
 * Arrow IPC stream bytes from record batches, one batch at a time: the consumer pulls, so a slow HTTP client slows
 * the database cursor instead of growing a queue (memory stays bounded by one batch).
 */
import * as arrow from 'apache-arrow';

/** A sink that keeps what the writer hands it until the next take(). */
class Collected extends arrow.AsyncByteQueue {
  private chunks: Uint8Array[] = [];
  override write(value: Uint8Array): void {
    this.chunks.push(value);
  }
  take(): Buffer | undefined {
    if (!this.chunks.length) return undefined;
    const out = Buffer.concat(this.chunks);
    this.chunks = [];
    return out;
  }
}

export async function* arrowIpcStream(
  batches: AsyncIterable<arrow.RecordBatch>,
  opts: { schema?: arrow.Schema; onRows?: (rows: number) => void } = {},
): AsyncGenerator<Buffer> {
  const sink = new Collected();
  const writer = new arrow.RecordBatchStreamWriter();
  writer.reset(sink);
  let rows = 0;
  let wrote = false;
  for await (const b of batches) {
    writer.write(b);
    wrote = true;
    rows += b.numRows;
    opts.onRows?.(rows);
    const out = sink.take();
    if (out) yield out;
  }
  if (!wrote && opts.schema) writer.write(new arrow.Table(opts.schema));
  writer.finish();
  const rest = sink.take();
  if (rest) yield rest;
}

/** Prometheus metrics of the stream processor (served on /metrics when a port is given). */
import { createServer, type Server } from 'node:http';
import client from 'prom-client';

export interface StreamMetrics {
  registry: client.Registry;
  messages: client.Counter<'view' | 'outcome'>;
  offlineCommits: client.Counter<'view' | 'outcome'>;
  offlineRows: client.Counter<'view'>;
  validations: client.Counter<'view' | 'success'>;
  pollSeconds: client.Histogram<'view'>;
  ingestLag: client.Histogram<'view'>;
  assigned: client.Gauge<'view'>;
}

export function createStreamMetrics(): StreamMetrics {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry });
  const registers = [registry];
  return {
    registry,
    messages: new client.Counter({
      name: 'strata_stream_messages_total',
      help: 'Kafka messages taken by the stream processor, by outcome (ok: written online and buffered offline; dead_letter: failed the per-message check)',
      labelNames: ['view', 'outcome'],
      registers,
    }),
    offlineCommits: new client.Counter({
      name: 'strata_stream_offline_commits_total',
      help: 'Offline micro-batches, by outcome (committed, quarantined, offsets_only, conflict, error)',
      labelNames: ['view', 'outcome'],
      registers,
    }),
    offlineRows: new client.Counter({
      name: 'strata_stream_offline_rows_total',
      help: 'Rows in offline micro-batches that were committed or quarantined',
      labelNames: ['view'],
      registers,
    }),
    validations: new client.Counter({
      name: 'strata_stream_validations_total',
      help: "Micro-batches checked with the view's expectation suite, by result",
      labelNames: ['view', 'success'],
      registers,
    }),
    pollSeconds: new client.Histogram({
      name: 'strata_stream_poll_duration_seconds',
      help: 'Time to check a poll of messages and write them online',
      labelNames: ['view'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    }),
    ingestLag: new client.Histogram({
      name: 'strata_stream_ingest_lag_seconds',
      help: 'Kafka message timestamp to online write, per message',
      labelNames: ['view'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30],
      registers,
    }),
    assigned: new client.Gauge({
      name: 'strata_stream_assigned_partitions',
      help: 'Partitions of the view topic this process holds',
      labelNames: ['view'],
      registers,
    }),
  };
}

export function serveMetrics(metrics: StreamMetrics, port: number, host = '127.0.0.1'): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    metrics.registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
      (err) => res.writeHead(500).end(String(err)),
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

/**
 * Faults on the local Redis Cluster (`infra/stack.sh cluster-up`): kill a master for real (SIGKILL of its process)
 * and bring the cluster back to 6 healthy nodes afterwards (the killed node restarts and rejoins as a replica).
 */
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';

const run = promisify(execFile);
const STACK = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'infra', 'stack.sh');

export interface ClusterMaster {
  host: string;
  port: number;
  pid: number;
  /** The node id of the master's replica, which takes over. */
  replicaId: string | undefined;
}

function nodesOf(url: string): { host: string; port: number }[] {
  return url
    .replace(/^rediss?:\/\//, '')
    .split(',')
    .map((s) => {
      const [host, port] = s.replace(/^rediss?:\/\//, '').split(':');
      return { host: host as string, port: Number(port) };
    });
}

/** Picks the master that serves `slot` (default: the first master found), SIGKILLs its process and returns it. */
export async function killClusterMaster(clusterUrl: string, opts: { slot?: number } = {}): Promise<ClusterMaster> {
  const [first] = nodesOf(clusterUrl);
  if (!first) throw new Error('no cluster node in the URL');
  const probe = new Redis({ host: first.host, port: first.port, lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await probe.connect();
    const lines = String(await probe.cluster('NODES'))
      .trim()
      .split('\n');
    const rows = lines.map((l) => l.split(' '));
    const masters = rows.filter((r) => (r[2] ?? '').includes('master') && !(r[2] ?? '').includes('fail') && r.length > 8);
    const slot = opts.slot;
    const owns = (r: string[]) =>
      slot === undefined ||
      r.slice(8).some((range) => {
        const [lo, hi] = range.split('-').map(Number) as [number, number | undefined];
        return slot >= lo && slot <= (hi ?? lo);
      });
    const target = masters.find(owns);
    if (!target) throw new Error('no master owning that slot');
    const [host, portBus] = (target[1] as string).split(':');
    const port = Number((portBus as string).split('@')[0]);
    const replica = rows.find((r) => (r[2] ?? '').includes('slave') && r[3] === target[0]);
    const node = new Redis({ host: host as string, port, lazyConnect: true, maxRetriesPerRequest: 1 });
    let pid: number;
    try {
      await node.connect();
      pid = Number(/process_id:(\d+)/.exec(String(await node.info('server')))?.[1]);
    } finally {
      node.disconnect();
    }
    if (!pid) throw new Error(`no process id from ${host}:${port}`);
    process.kill(pid, 'SIGKILL');
    return { host: host as string, port, pid, replicaId: replica?.[0] };
  } finally {
    probe.disconnect();
  }
}

/** Restarts killed nodes (`infra/stack.sh cluster-up`) and waits until all six are back and the cluster is ok. */
export async function restoreCluster(clusterUrl: string, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const base = Math.min(...nodesOf(clusterUrl).map((n) => n.port));
  await run('bash', [STACK, 'cluster-up'], { env: { ...env, STRATA_REDIS_CLUSTER_PORT: String(base) }, timeout: 120_000 });
}

/** The role of a cluster node by id ('master' or 'replica'), as a live node reports it; undefined when unknown. */
export async function clusterNodeRole(clusterUrl: string, nodeId: string): Promise<'master' | 'replica' | undefined> {
  for (const n of nodesOf(clusterUrl)) {
    const probe = new Redis({
      host: n.host,
      port: n.port,
      lazyConnect: true,
      maxRetriesPerRequest: 1,
      retryStrategy: () => null,
    });
    probe.on('error', () => {});
    try {
      await probe.connect();
      const line = String(await probe.cluster('NODES'))
        .split('\n')
        .find((l) => l.startsWith(`${nodeId} `));
      const flags = line?.split(' ')[2] ?? '';
      return flags.includes('master') ? 'master' : flags.includes('slave') ? 'replica' : undefined;
    } catch {
      // a dead node: ask the next one
    } finally {
      probe.disconnect();
    }
  }
  return undefined;
}

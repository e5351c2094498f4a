/**
 * The Python client (clients/python, strata-client) against a real Strata server, serving app and worker: its
 * pytest suite, then the example notebook (examples/notebooks) executed with nbclient. The Python side comes from
 * infra/python-client.sh (STRATA_CLIENT_PYTHON); under CI=true a missing interpreter fails the suite.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer as createServing } from '@strata/serving';
import { connect, Identity, loadConfig, type Strata } from '@strata/sdk';
import { freshSchema, type FreshSchema, requireOrSkip, strataEnv, testScope, uniqueName } from '@strata/testkit';
import { createStrataWorker } from '@strata/worker';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from './server.js';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const PYTHON = process.env.STRATA_CLIENT_PYTHON;
const WEATHER = join(REPO, 'examples', 'node_modules', 'vega-datasets', 'data', 'weather.csv');
const ADMIN = `admin-${uniqueName('k')}-0123456789`;

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env, cwd });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      out += d;
    });
    child.on('close', (code) => resolve({ code: code ?? 1, out }));
  });
}

const missing =
  !PYTHON || !existsSync(PYTHON)
    ? 'STRATA_CLIENT_PYTHON is not set (eval "$(bash infra/python-client.sh)"; infra/test.sh does it)'
    : undefined;

describe.skipIf(requireOrSkip('python client (strata-client)', missing))('python client (strata-client)', () => {
  let fresh: FreshSchema;
  let strata: Strata;
  let app: FastifyInstance;
  let serving: FastifyInstance;
  let worker: Awaited<ReturnType<typeof createStrataWorker>>;
  let running: Promise<void>;
  let identity: Identity;
  let serverUrl: string;
  let servingUrl: string;

  beforeAll(async () => {
    fresh = await freshSchema();
    const config = loadConfig({ env: strataEnv(testScope(fresh.schema, 'py')) });
    worker = await createStrataWorker(config, { logLevel: 'ERROR' });
    running = worker.worker.run();
    strata = await connect({ config });
    identity = new Identity(strata.pool, fresh.schema, { adminKey: ADMIN, cacheMs: 0 });
    app = await createServer({ strata, identity, dataDir: mkdtempSync(join(tmpdir(), 'strata-py-')) });
    serverUrl = await app.listen({ port: 0, host: '127.0.0.1' });
    ({ app: serving } = await createServing({
      project: config.project,
      registry: strata.registry,
      pool: strata.pool,
      online: strata.online,
      keyLookup: identity,
    }));
    servingUrl = await serving.listen({ port: 0, host: '127.0.0.1' });
  });

  afterAll(async () => {
    await serving?.close();
    await app?.close();
    await strata?.close();
    worker?.worker.shutdown();
    await running?.catch(() => {});
    await worker?.close();
    await fresh?.drop();
  });

  it('passes its pytest suite against the real server', async () => {
    const env = {
      ...process.env,
      STRATA_TEST_SERVER_URL: serverUrl,
      STRATA_TEST_SERVING_URL: servingUrl,
      STRATA_TEST_ADMIN_KEY: ADMIN,
    };
    const r = await run(
      PYTHON as string,
      ['-m', 'pytest', '-q', '-p', 'no:cacheprovider', 'tests'],
      env,
      join(REPO, 'clients', 'python'),
    );
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/\d+ passed/);
    process.stdout.write(`pytest: ${r.out.match(/\d+ passed.*/)?.[0]}\n`);
  }, 300_000);

  it('executes the example notebook: a training set from the demo weather data and a scikit-learn model', async () => {
    const project = uniqueName('nb');
    const key = await identity.createKey({ name: 'notebook', roles: { [project]: 'editor' } });
    const env = {
      ...process.env,
      STRATA_SERVER_URL: serverUrl,
      STRATA_API_KEY: key.key,
      STRATA_PROJECT: project,
      STRATA_WEATHER_CSV: WEATHER,
    };
    const script = [
      'import sys, nbformat',
      'from nbclient import NotebookClient',
      'nb = nbformat.read(sys.argv[1], as_version=4)',
      "NotebookClient(nb, timeout=300, kernel_name='python3').execute()",
      "out = [o.get('text', '') for c in nb.cells if c.cell_type == 'code' for o in c.get('outputs', [])]",
      "print(''.join(out))",
    ].join('\n');
    const nb = join(REPO, 'examples', 'notebooks', 'weather_training.ipynb');
    const r = await run(PYTHON as string, ['-c', script, nb], env, join(REPO, 'examples', 'notebooks'));
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/accuracy on 2015: 0\.\d+/);
    process.stdout.write(`notebook: ${r.out.match(/\d+ rows; accuracy.*/)?.[0]}\n`);
  }, 300_000);
});

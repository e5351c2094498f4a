// In-process A/B of the serving read path (serveOnline: keys, the store's HMGET pipelines, decoding, the response
// columns) of this tree against another built tree (e.g. the commit before the OnlineStore interface, built in a
// scratch copy: `git archive <commit> | tar -x -C <dir> && cd <dir> && pnpm install --offline &&
// pnpm turbo build --filter=@strata/serving...`). Same Redis, same data (bench/serving/run.mjs writes it: project
// bench_p1, view bench, 10,000 entities x 50 DOUBLE features), 16 concurrent callers, rounds alternating the order.
// No HTTP: what is left is the code that differs, so the noise of a shared machine is smaller than over HTTP.
// Usage (env from `bash infra/stack.sh env`, after `node bench/serving/run.mjs` once):
//   node bench/serving/read-path-ab.mjs --base <other tree> [--rounds 8] [--ms 1500]
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const here = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const baseDir = arg('base', '');
if (!baseDir) throw new Error('--base <a built tree to compare with> is required');
const ROUNDS = Number(arg('rounds', '8'));
const MS = Number(arg('ms', '1500'));
const redisUrl = process.env.STRATA_REDIS_URL ?? 'redis://127.0.0.1:6380';

async function side(name, tree) {
  const mod = (p) => import(pathToFileURL(join(resolve(tree), p)).href);
  const respond = await mod('apps/serving/dist/respond.js');
  const redis = await mod('internal-packages/online-redis/dist/index.js');
  return { name, store: redis.RedisOnlineStore.connect(redisUrl), serve: respond.serveOnline };
}
const a = await side('this', here);
const b = await side('base', baseDir);
const features = Array.from({ length: 50 }, (_, j) => ({ name: `f${j}`, valueType: 'DOUBLE' }));
const view = { name: 'bench', entities: ['user'], timestampField: 'event_timestamp', ttlSeconds: 0, online: true, features };
const sel = [{ view, features, joinKeys: [{ name: 'user_id', valueType: 'INT64' }] }];
const memo = [{}];
const rows = (batch, k) => Array.from({ length: batch }, (_, i) => ({ user_id: 1 + ((i * 97 + k) % 10_000) }));

async function loop(t, batch, ms) {
  let n = 0;
  const until = Date.now() + ms;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (Date.now() < until) {
        const r = await t.serve(t.store, 'bench_p1', sel, rows(batch, n), { memo });
        if (r.results[1].values[0] === null) throw new Error(`${t.name}: no value (run bench/serving/run.mjs first)`);
        n++;
      }
    }),
  );
  return n / (ms / 1000);
}

const out = {};
const mean = (x) => x.reduce((p, q) => p + q, 0) / x.length;
for (const batch of [1, 100]) {
  await loop(a, batch, 1000);
  await loop(b, batch, 1000);
  const s = { this: [], base: [] };
  for (let r = 0; r < ROUNDS; r++) for (const t of r % 2 ? [b, a] : [a, b]) s[t.name].push(Math.round(await loop(t, batch, MS)));
  out[batch] = {
    this: Math.round(mean(s.this)),
    base: Math.round(mean(s.base)),
    ratio: Number((mean(s.this) / mean(s.base)).toFixed(3)),
    rounds: s,
  };
  process.stdout.write(`batch ${batch}: this ${out[batch].this}/s, base ${out[batch].base}/s, this/base ${out[batch].ratio}\n`);
}
process.stdout.write(`${JSON.stringify(out)}\n`);
await a.store.close();
await b.store.close();

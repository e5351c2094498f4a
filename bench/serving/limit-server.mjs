// The limit for P1: a minimal Node HTTP process that does only what serving must do against Redis — parse the
// request, build the Feast-layout keys, one pipelined HMGET per entity (50 feature fields + _ts:<view>), and answer
// with a small JSON body (no decoding, no statuses, no registry).
// Usage: node limit-server.mjs <port> <redis-url> <project> <view> <features>
import http from 'node:http';
import { featureFieldHash, redisKey, timestampField } from '@strata/online-redis';
import { Redis } from 'ioredis';

const [port, redisUrl, project, view, nFeatures] = process.argv.slice(2);
const redis = new Redis(redisUrl);
const fields = [
  ...Array.from({ length: Number(nFeatures) }, (_, j) => featureFieldHash(view, `f${j}`)),
  Buffer.from(timestampField(view)),
];
const keys = [{ name: 'user_id', valueType: 'INT64' }];

http
  .createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString());
        const ids = body.entities.user_id;
        const p = redis.pipeline();
        for (const id of ids) p.hmgetBuffer(redisKey(project, keys, { user_id: id }), ...fields);
        const out = await p.exec();
        let present = 0;
        for (const [, vals] of out) if (vals[0]) present++;
        const text = JSON.stringify({ n: ids.length, present });
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
        res.end(text);
      } catch (err) {
        res.writeHead(500);
        res.end(String(err));
      }
    });
  })
  .listen(Number(port), '127.0.0.1', () => process.stdout.write('ready\n'));

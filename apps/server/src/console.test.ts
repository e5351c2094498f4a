import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleDir, consoleRoutes } from './console.js';

// The console's routes on a fastify app with the API's JSON 404, as createServer registers them.
async function appWith(dir: string | undefined, authRequired?: () => Promise<boolean>): Promise<FastifyInstance> {
  const app = Fastify();
  app.setNotFoundHandler((req, reply) =>
    reply.status(404).send({ error: { code: 'UNKNOWN_OBJECT', message: `no route ${req.method} ${req.url}`, details: {} } }),
  );
  app.get('/api/v1/health', async () => ({ status: 'ok' }));
  await app.register(consoleRoutes, {
    dir: dir ?? join(tmpdir(), 'strata-no-console-here'),
    ...(authRequired ? { authRequired } : {}),
  });
  await app.ready();
  return app;
}

describe('console routes', () => {
  let dir: string;
  let app: FastifyInstance;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'strata-console-'));
    mkdirSync(join(dir, 'assets'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><html><head><title>x</title></head><div id="app"></div></html>');
    writeFileSync(join(dir, 'assets', 'index-abc123.js'), 'console.log(1)');
    writeFileSync(join(dir, 'robots.txt'), 'User-agent: *');
    app = await appWith(dir);
  });
  afterAll(async () => {
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers the app for / and for any path route (SPA fallback), with a strict CSP and no caching', async () => {
    for (const url of ['/', '/views/demo/daily_weather?tab=commits', '/admin']) {
      const res = await app.inject({ url });
      expect(res.statusCode, url).toBe(200);
      expect(res.headers['content-type']).toContain('text/html');
      expect(res.body).toContain('<div id="app">');
      expect(res.headers['content-security-policy']).toContain("script-src 'self'");
      expect(res.headers['cache-control']).toBe('no-cache');
    }
  });

  it('tells the page whether the API needs a key', async () => {
    let keys = false;
    const withAuth = await appWith(dir, async () => keys);
    expect((await withAuth.inject({ url: '/views/x' })).body).toContain('<meta name="strata-auth" content="open" />');
    keys = true;
    expect((await withAuth.inject({ url: '/' })).body).toContain('<meta name="strata-auth" content="required" />');
    await withAuth.close();
  });

  it('serves hashed assets for good and a missing one as the JSON 404, never as index.html', async () => {
    const js = await app.inject({ url: '/assets/index-abc123.js' });
    expect(js.statusCode).toBe(200);
    expect(js.headers['content-type']).toContain('javascript');
    expect(js.headers['cache-control']).toContain('immutable');
    expect(js.body).toBe('console.log(1)');
    const missing = await app.inject({ url: '/assets/index-old.js' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.code).toBe('UNKNOWN_OBJECT');
  });

  it('serves a new build without a restart (assets are read per request)', async () => {
    writeFileSync(join(dir, 'assets', 'index-new456.js'), 'console.log(2)');
    const res = await app.inject({ url: '/assets/index-new456.js' });
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe('console.log(2)');
  });

  it('serves top-level files of the build and refuses paths out of it', async () => {
    const robots = await app.inject({ url: '/robots.txt' });
    expect(robots.body).toBe('User-agent: *');
    const outside = await app.inject({ url: '/assets/..%2f..%2fetc%2fpasswd' });
    expect(outside.statusCode).not.toBe(200);
    expect(outside.body).not.toContain('root:');
  });

  it('keeps the API: its routes answer, unknown /api paths get the JSON 404', async () => {
    expect((await app.inject({ url: '/api/v1/health' })).json()).toEqual({ status: 'ok' });
    for (const url of ['/api/v1/nope', '/api', '/api/v2/x']) {
      const res = await app.inject({ url });
      expect(res.statusCode, url).toBe(404);
      expect(res.headers['content-type']).toContain('application/json');
      expect(res.json().error.code).toBe('UNKNOWN_OBJECT');
    }
    const post = await app.inject({ method: 'POST', url: '/views/x' });
    expect(post.statusCode).toBe(404);
  });

  it('says how to build the console when it is not built', async () => {
    const bare = await appWith(undefined);
    const res = await bare.inject({ url: '/' });
    expect(res.statusCode).toBe(404);
    expect(res.json().error.details.hint).toContain('@strata/console');
    expect((await bare.inject({ url: '/api/v1/health' })).statusCode).toBe(200);
    await bare.close();
  });

  it('finds the installed console package', () => {
    expect(consoleDir()).toMatch(/console[\\/]dist$/);
  });
});

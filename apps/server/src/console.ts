/**
 * The web console (apps/console), served at / from its build output: hashed assets with long-lived caching, the
 * app's index.html for every other GET outside /api and /assets (the app routes by path, so a reload of
 * /views/demo/x works).
 * The console is a client of the public API like any other; nothing here reads a key or touches a store. GETs under
 * /api that no route answers still get the API's JSON 404.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, sep } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply } from 'fastify';

export interface ConsoleOptions {
  /** The console's build output; default: the dist/ folder of the installed @strata/console package. */
  dir?: string;
  /**
   * Whether the API needs a key (the server's identity has one): the page says so in a meta tag, so the app shows
   * its sign-in screen at once instead of probing the API and getting a 401 (nothing else is revealed: a 401 would
   * say the same).
   */
  authRequired?: () => Promise<boolean>;
}

/** Where the built console is, or undefined when @strata/console is not installed. */
export function consoleDir(): string | undefined {
  try {
    return join(dirname(createRequire(import.meta.url).resolve('@strata/console/package.json')), 'dist');
  } catch {
    return undefined;
  }
}

// The app loads only its own bundled scripts and styles and calls only this origin (no CDN, no inline script).
// Inline style attributes are allowed because the charts (SVG) set them.
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'self'",
].join('; ');

function pageHeaders(reply: FastifyReply): FastifyReply {
  return reply
    .header('Content-Security-Policy', CSP)
    .header('X-Content-Type-Options', 'nosniff')
    .header('Referrer-Policy', 'no-referrer')
    .header('Cache-Control', 'no-cache');
}

export async function consoleRoutes(app: FastifyInstance, opts: ConsoleOptions = {}): Promise<void> {
  const dir = opts.dir ?? consoleDir();
  const built = dir !== undefined && existsSync(join(dir, 'index.html'));
  const assets = join(dir ?? '.', 'assets');
  if (built) {
    // Hashed bundles: cached for good (a new build has new names); read from disk per request, so a rebuild is
    // served without a restart, and a missing one falls through to the API's JSON 404.
    await app.register(fastifyStatic, {
      root: assets,
      prefix: '/assets/',
      index: false,
      decorateReply: true,
      cacheControl: false,
      // Also called for index.html and top-level files sent by the route below: those must never be cached for good.
      setHeaders: (reply, path) => {
        reply.header('X-Content-Type-Options', 'nosniff');
        const hashed = path.startsWith(assets + sep);
        reply.header('Cache-Control', hashed ? 'public, max-age=31536000, immutable' : 'no-cache');
        if (path.endsWith('.html')) pageHeaders(reply);
      },
    });
  }
  app.get('/*', { schema: { hide: true } }, async (req, reply) => {
    const path = req.url.split('?')[0] ?? '/';
    // The API's namespace keeps its JSON 404.
    if (path === '/api' || path.startsWith('/api/')) return reply.callNotFound();
    if (!built)
      return reply.status(404).send({
        error: {
          code: 'UNKNOWN_OBJECT',
          message: 'the web console is not built in this installation',
          details: { hint: 'run `pnpm turbo build --filter=@strata/console` (or `pnpm build`), then restart the server' },
        },
      });
    // A file at the top of the build (a favicon, robots.txt), else the app itself.
    const top = path.slice(1);
    if (/^\w[\w.-]*$/.test(top) && top !== 'index.html' && existsSync(join(dir as string, top)))
      return reply.header('Cache-Control', 'no-cache').sendFile(top, dir as string);
    const html = await readFile(join(dir as string, 'index.html'), 'utf8');
    const auth = opts.authRequired ? ((await opts.authRequired()) ? 'required' : 'open') : 'unknown';
    return pageHeaders(reply)
      .type('text/html; charset=utf-8')
      .send(html.replace('<head>', `<head>\n    <meta name="strata-auth" content="${auth}" />`));
  });
}

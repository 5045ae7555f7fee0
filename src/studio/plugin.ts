// Serves the clip studio at / and /studio from this same process. The page's
// TypeScript (src/studio/web) is bundled by esbuild on the first request for
// it and kept in memory; hls.js comes from node_modules. Nothing is fetched
// from the internet, and there is no build step to run before `npm start`.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';

const web = fileURLToPath(new URL('./web/', import.meta.url));
const require = createRequire(import.meta.url);

/** Loads once; a failure is not kept, so the next request tries again. */
function once<T>(load: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () => {
    pending ??= load().catch((err) => {
      pending = undefined;
      throw err;
    });
    return pending;
  };
}

export const studioBundle = once(async () => {
  const { build } = await import('esbuild');
  const out = await build({
    entryPoints: [`${web}main.ts`],
    bundle: true,
    format: 'esm',
    target: 'es2020',
    write: false,
    minify: true,
    sourcemap: 'inline',
    logLevel: 'silent',
  });
  return Buffer.from(out.outputFiles[0].contents);
});

const page = once(() => readFile(`${web}index.html`));
const css = once(() => readFile(`${web}studio.css`));
const hls = once(() => readFile(require.resolve('hls.js/dist/hls.min.js')));

function send(reply: FastifyReply, type: string, body: Buffer): FastifyReply {
  // Revalidated on every load: a new version of the service serves a new page.
  return reply.header('content-type', type).header('cache-control', 'no-cache').header('x-content-type-options', 'nosniff').send(body);
}

export async function studioRoutes(app: FastifyInstance): Promise<void> {
  const opts = { schema: { hide: true }, logLevel: 'warn' as const };
  const html = async (_req: unknown, reply: FastifyReply) => send(reply, 'text/html; charset=utf-8', await page());
  app.get('/', opts, html);
  app.get('/studio', opts, html);
  app.get('/studio/', opts, html);
  app.get('/studio/app.js', opts, async (_req, reply) => send(reply, 'text/javascript; charset=utf-8', await studioBundle()));
  app.get('/studio/studio.css', opts, async (_req, reply) => send(reply, 'text/css; charset=utf-8', await css()));
  app.get('/studio/hls.js', opts, async (_req, reply) => send(reply, 'text/javascript; charset=utf-8', await hls()));
}

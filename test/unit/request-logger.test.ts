// The per-request logger Fastify makes for every request (app.ts): made for
// real only when the request writes a line at a level it logs.
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, lazyRequestLogger } from '../../src/logging.js';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({ write(chunk, _enc, done) { lines.push(JSON.parse(chunk.toString())); done(); } });
  return { lines, logger: createLogger('info', stream) };
}

describe('lazyRequestLogger', () => {
  it('below its level: writes nothing and makes no child logger', () => {
    const { lines, logger } = capture();
    let children = 0;
    const child = logger.child.bind(logger);
    logger.child = ((...args: Parameters<typeof child>) => { children++; return child(...args); }) as typeof logger.child;
    const log = lazyRequestLogger(logger, { reqId: 'req-1' }, { level: 'warn' });
    log.info({ res: { statusCode: 200 } }, 'request completed');
    log.debug('detail');
    expect(lines).toEqual([]);
    expect(children).toBe(0);
    expect(log.isLevelEnabled('info')).toBe(false);
    expect(log.isLevelEnabled('error')).toBe(true);
  });

  it('at its level: the same line a child logger writes, with its bindings and redaction', () => {
    const { lines, logger } = capture();
    const log = lazyRequestLogger(logger, { reqId: 'req-2' }, { level: 'warn' });
    log.warn({ req: { method: 'GET', url: '/live/1_2/PLAYKEY123456789/master.m3u8?token=abc' } }, 'slow viewer');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 40, reqId: 'req-2', msg: 'slow viewer' });
    expect(JSON.stringify(lines[0])).not.toMatch(/PLAYKEY123456789|token=abc/);
    // Without a route level the parent's applies.
    const plain = lazyRequestLogger(logger, { reqId: 'req-3' }, {});
    plain.info('hello');
    expect(lines[1]).toMatchObject({ level: 30, reqId: 'req-3', msg: 'hello' });
  });
});

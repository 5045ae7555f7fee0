// A Redis that refuses the service at boot (a password it was not given, a
// wrong one, nobody listening): the service stops at once and says why in
// one line, with what to do next, no stack trace, nothing printed as
// unhandled, and never the password it was given.
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/harness.js';
import { freePort, serviceBootOutcome, stackTraceLines } from '../helpers/service-process.js';

let redis: ChildProcess;
let port: number;

beforeAll(async () => {
  port = await freePort();
  redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--requirepass', 'the-right-one'], { stdio: 'ignore' });
  await waitFor(async () => {
    const probe = spawn('redis-cli', ['-p', String(port), 'ping'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    probe.stdout!.on('data', (d) => (out += d));
    await new Promise((r) => probe.once('exit', r));
    return out.includes('NOAUTH');
  }, 'the password-protected redis-server', 10_000, 100);
});

afterAll(() => {
  redis?.kill('SIGKILL');
});

/** The service started against `url`: its exit code and everything it printed. */
const boot = (url: string, env: Record<string, string> = {}) => serviceBootOutcome({ REDIS_URL: url, ...env });

function expectOneClearLine(output: string) {
  expect(stackTraceLines(output)).toEqual([]);
  expect(output).not.toMatch(/Unhandled error event/);
  expect(output.trim().split('\n')).toHaveLength(1);
}

describe('a Redis that refuses the service at boot', () => {
  it('no password given: it stops and says to put one in REDIS_URL', async () => {
    const { code, output } = await boot(`redis://127.0.0.1:${port}`);
    expect(code).toBe(1);
    expect(output).toMatch(new RegExp(`could not connect to Redis at 127\\.0\\.0\\.1:${port}: NOAUTH .*give its user and password in REDIS_URL`));
    expectOneClearLine(output);
  }, 40_000);

  it('a wrong password: the same, and the password it was given appears nowhere', async () => {
    const { code, output } = await boot(`redis://:not-the-password-42@127.0.0.1:${port}`);
    expect(code).toBe(1);
    expect(output).toMatch(/WRONGPASS/);
    expect(output).not.toContain('not-the-password-42');
    expectOneClearLine(output);
  }, 40_000);

  it('api processes apart from the workers (ROLE=api, API_PROCESSES=2): the primary asks first and stops with the same line', async () => {
    const { code, output } = await boot(`redis://127.0.0.1:${port}`, { ROLE: 'api', API_PROCESSES: '2' });
    expect(code).toBe(1);
    expect(output).toMatch(/could not connect to Redis at .*NOAUTH/);
    expect(output).not.toMatch(/service ready|api process exited/);
    expectOneClearLine(output);
  }, 40_000);

  it('nobody listening: it asks whether redis-server runs there', async () => {
    const { code, output } = await boot(`redis://127.0.0.1:${await freePort()}`);
    expect(code).toBe(1);
    expect(output).toMatch(/ECONNREFUSED.*is redis-server running there\?/);
    expectOneClearLine(output);
  }, 40_000);
});

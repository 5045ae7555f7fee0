// A Redis that refuses the service at boot (a password it was not given, a
// wrong one, nobody listening): the service stops at once and says why in
// one line, with what to do next, no stack trace, nothing printed as
// unhandled, and never the password it was given.
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/harness.js';
import { freePort, stackTraceLines, tempDir } from '../helpers/service-process.js';

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
async function boot(url: string): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: { ...process.env, REDIS_URL: url, DATA_DIR: tempDir('dvr-refused-'), PORT: String(await freePort()), HOST: '127.0.0.1', DEMO: '0', RTMP_PORT: '0', SRT_PORT: '0', API_PROCESSES: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  clearTimeout(timer);
  return { code, output };
}

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

  it('nobody listening: it asks whether redis-server runs there', async () => {
    const { code, output } = await boot(`redis://127.0.0.1:${await freePort()}`);
    expect(code).toBe(1);
    expect(output).toMatch(/ECONNREFUSED.*is redis-server running there\?/);
    expectOneClearLine(output);
  }, 40_000);
});

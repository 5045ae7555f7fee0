// A new user's first command: a fresh clone installs its npm dependencies and
// stays exactly as checked out (the tracked package-lock.json is not
// rewritten), the next command does not install again, and starting the
// service (embedded Redis, DATA_DIR) leaves the checkout clean too.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/service-process.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'dvr-clone-'));
const clone = path.join(dir, 'repo');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function ensure(): string {
  // What `npm start` and `npm test` run first; its messages go to stderr.
  const run = spawnSync('bash', ['scripts/ensure.sh'], { cwd: clone, encoding: 'utf8', timeout: 240_000 });
  expect(run.status, run.stderr).toBe(0);
  return run.stderr;
}

describe('a fresh clone', () => {
  it('installs from the lockfile and leaves the checkout clean, also once started', async () => {
    execFileSync('git', ['clone', '--quiet', process.cwd(), clone]);
    const first = ensure();
    expect(first).toContain('installing npm dependencies');
    expect(execFileSync('git', ['status', '--porcelain'], { cwd: clone, encoding: 'utf8' })).toBe('');
    const second = ensure();
    expect(second).not.toContain('installing');
    expect(execFileSync('git', ['status', '--porcelain'], { cwd: clone, encoding: 'utf8' })).toBe('');

    // What `npm test` and `npm start` then write (fixtures, DATA_DIR with its embedded Redis) is ignored.
    execFileSync(process.execPath, ['--import', 'tsx', 'fixtures/make.ts'], { cwd: clone, stdio: 'ignore', timeout: 120_000 });
    const port = await freePort();
    const service = spawn('bash', ['scripts/start.sh'], {
      cwd: clone, env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', DEMO: '0', API_PROCESSES: '1', RTMP_PORT: '0', SRT_PORT: '0', REDIS_URL: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    service.stdout.on('data', (d) => (out += d));
    service.stderr.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((resolve) => service.once('exit', resolve));
    const deadline = Date.now() + 90_000;
    while (!out.includes('service ready') && Date.now() < deadline && service.exitCode === null) await new Promise((r) => setTimeout(r, 200));
    expect(out).toContain('service ready');
    service.kill('SIGTERM');
    expect(await exited, out.slice(-2000)).toBe(0);
    expect(execFileSync('git', ['status', '--porcelain'], { cwd: clone, encoding: 'utf8' })).toBe('');
  }, 300_000);
});

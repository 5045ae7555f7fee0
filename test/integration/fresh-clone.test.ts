// A new user's first command: a fresh clone installs its npm dependencies and
// stays exactly as checked out (the tracked package-lock.json is not
// rewritten), and the next command does not install again.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

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
  it('installs from the lockfile and leaves the checkout clean', () => {
    execFileSync('git', ['clone', '--quiet', process.cwd(), clone]);
    const first = ensure();
    expect(first).toContain('installing npm dependencies');
    expect(execFileSync('git', ['status', '--porcelain'], { cwd: clone, encoding: 'utf8' })).toBe('');
    const second = ensure();
    expect(second).not.toContain('installing');
    expect(execFileSync('git', ['status', '--porcelain'], { cwd: clone, encoding: 'utf8' })).toBe('');
  }, 300_000);
});

// The spawner process (src/util/spawner.ts) runs short commands for the
// service, so that the service never forks itself for them: real commands,
// real processes.
import { describe, expect, it } from 'vitest';
import { runOutOfProcess, spawnerPid } from '../../src/util/spawner.js';

const run = (command: string, args: string[], opts: Parameters<typeof runOutOfProcess>[2] = { timeoutMs: 10_000 }) => runOutOfProcess(command, args, opts);

describe('commands run by the spawner process', () => {
  it('are children of the spawner, not of this process, and get their input on stdin', async () => {
    const parent = await run('sh', ['-c', 'echo $PPID']).result;
    expect(parent.code).toBe(0);
    const pid = Number(parent.stdout.toString().trim());
    expect(pid).toBe(spawnerPid());
    expect(pid).not.toBe(process.pid);
    const input = Buffer.alloc(3 * 1024 * 1024, 7);
    const counted = await run('wc', ['-c'], { input, timeoutMs: 10_000 }).result;
    expect(counted.stdout.toString().trim()).toBe(String(input.length));
    const echoed = await run('cat', [], { input: Buffer.from([0, 1, 2, 255]), timeoutMs: 10_000 }).result;
    expect(Buffer.isBuffer(echoed.stdout)).toBe(true);
    expect([...echoed.stdout]).toEqual([0, 1, 2, 255]);
  });

  it('run at the niceness asked for, from their start', async () => {
    expect((await run('nice', [], { nice: 19, timeoutMs: 10_000 }).result).stdout.toString().trim()).toBe('19');
    expect((await run('nice', []).result).stdout.toString().trim()).toBe('0');
  });

  it('are killed at their timeout, on kill(), and past their output bound; a missing command says so', async () => {
    const late = await run('sleep', ['5'], { timeoutMs: 300 }).result;
    expect(late.signal).toBe('SIGKILL');
    const killed = run('sleep', ['5']);
    setTimeout(() => killed.kill(), 200);
    expect((await killed.result).signal).toBe('SIGKILL');
    const loud = await run('head', ['-c', '200000', '/dev/zero'], { timeoutMs: 10_000, maxOutput: 1000 }).result;
    expect(loud.error).toMatch(/more than 1000 bytes/);
    // A long stderr keeps its end, where a command says why it failed.
    const chatty = await run('sh', ['-c', 'head -c 20000 /dev/zero | tr "\\0" x >&2; echo >&2; echo "the reason" >&2; exit 1']).result;
    expect(chatty.code).toBe(1);
    expect(chatty.stderr.trim().split('\n').at(-1)).toBe('the reason');
    const missing = await run('no-such-command-here', []).result;
    expect(missing.code).not.toBe(0);
    expect(missing.error).toMatch(/ENOENT/);
  });

  it('a spawner that died: what it ran reports so, and the next command starts another', async () => {
    await run('true', []).result;
    const first = spawnerPid()!;
    const pending = run('sleep', ['5']);
    await new Promise((r) => setTimeout(r, 200));
    process.kill(first, 'SIGKILL');
    const lost = await pending.result;
    expect(lost.error).toMatch(/spawner process ended/);
    const again = await run('sh', ['-c', 'echo $PPID']).result;
    expect(again.code).toBe(0);
    expect(Number(again.stdout.toString().trim())).toBe(spawnerPid());
    expect(spawnerPid()).not.toBe(first);
  });
});

// A signal to the service's whole process group (Ctrl-C in a terminal,
// `kill -TERM -PGID`) while work is in flight: the demo encoder pushing, a
// VOD promotion copying chunks. It must end as cleanly as a signal to the
// service alone: exit 0 well before the force-exit, a "stopped" line, no
// stack traces, no Redis errors, the embedded redis-server gone; and the
// promotion finishes after a restart, once. Then SIGKILL of the group: the
// embedded Redis does not outlive the service and the clips are back.
import { describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/harness.js';
import { demoApiKey, redisServersOf, serviceProcesses, stackTraceLines, type ServiceProcess } from '../helpers/service-process.js';

const processes = serviceProcesses();

/** Generous: the force-exit is SHUTDOWN_TIMEOUT_MS + 15 s = 35 s; a clean stop takes a few seconds. */
const CLEAN_STOP_MS = 15_000;

function start(dataDir: string, env: Record<string, string> = {}): Promise<ServiceProcess> {
  // Slow promotions (a pause per chunk copied) so that one is surely in flight.
  return processes.start({ DEMO: '1', VOD_STEP_DELAY_MS: '700', ...env }, { dataDir });
}

async function api(p: ServiceProcess, method: string, url: string, body?: unknown) {
  const res = await fetch(p.url(url), {
    method,
    headers: { authorization: `apikey ${demoApiKey(p.dataDir)}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: await res.json() as Record<string, unknown> };
}

/** A clip of 6 s that ended 2 s ago; asked again while the DVR does not hold them yet (a busy machine). */
async function clipOfTheLastSeconds(p: ServiceProcess, vodRequired: boolean) {
  return waitFor(async () => {
    const now = Math.floor(Date.now() / 1000);
    const clip = await api(p, 'PUT', '/streaming/streams/1/clip_recording', { start: now - 8, duration: 6, vod_required: vodRequired });
    if (clip.status === 422) return undefined;
    expect(clip.status, JSON.stringify(clip.body)).toBe(200);
    return clip;
  }, 'a clip of the last seconds', 30_000, 1000);
}

/** A vod_required clip of the last seconds of the demo stream: its promotion starts at once. */
async function promoteClip(p: ServiceProcess): Promise<number> {
  // Wait until the DVR holds a few chunks of every rendition.
  await waitFor(async () => {
    const r = await api(p, 'GET', '/streaming/streams/1');
    return r.status === 200 && p.logs().filter((l) => l.msg === 'rendition probed').length >= 6;
  }, 'the demo stream to have chunks', 60_000, 500);
  const clip = await clipOfTheLastSeconds(p, true);
  const videoId = clip.body.video_id as number;
  expect(typeof videoId).toBe('number');
  return videoId;
}

async function stopGroup(p: ServiceProcess, signal: NodeJS.Signals) {
  const sent = Date.now();
  process.kill(-p.child.pid!, signal);
  const exit = await p.exited;
  return { ...exit, tookMs: exit.at - sent };
}

function expectClean(p: ServiceProcess, exit: { code: number | null; tookMs: number }) {
  const out = p.output();
  expect(exit.code, out.slice(-3000)).toBe(0);
  expect(exit.tookMs).toBeLessThan(CLEAN_STOP_MS);
  expect(p.logs().some((l) => l.msg === 'stopped')).toBe(true);
  expect(stackTraceLines(out), out.slice(-3000)).toEqual([]);
  expect(out).not.toMatch(/Unhandled error event|worker error|ENOENT|Connection is closed/);
  expect(p.logs().filter((l) => (l.level as number) >= 50).map((l) => l.msg)).toEqual([]);
  expect(redisServersOf(p.dataDir)).toEqual([]);
}

describe('a signal to the whole process group', () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`${signal} with a VOD promotion in flight exits 0 on time, and the promotion finishes after a restart`, async () => {
      const dataDir = processes.dataDir('dvr-group-');
      const first = await start(dataDir);
      const videoId = await promoteClip(first);
      await new Promise((r) => setTimeout(r, 500)); // the promotion is copying chunks now
      const before = await api(first, 'GET', `/streaming/videos/${videoId}`);
      expect(before.body.status).not.toBe('ready');
      const exit = await stopGroup(first, signal);
      expectClean(first, exit);

      const second = await start(dataDir, { DEMO: '0', VOD_STEP_DELAY_MS: '0' });
      const video = await waitFor(async () => {
        const r = await api(second, 'GET', `/streaming/videos/${videoId}`);
        return r.status === 200 && r.body.status === 'ready' ? r.body : undefined;
      }, 'the VOD to finish after the restart', 60_000, 500);
      expect(video.id).toBe(videoId);
      const list = await api(second, 'GET', '/streaming/videos');
      expect(Array.isArray(list.body)).toBe(true);
      expect((list.body as unknown as Array<{ id: number }>).filter((v) => v.id === videoId)).toHaveLength(1);
      expectClean(second, await stopGroup(second, 'SIGTERM'));
    }, 180_000);
  }

  it('SIGTERM to every process at once, the embedded redis-server too (systemd KillMode=control-group), is clean too', async () => {
    const dataDir = processes.dataDir('dvr-cgroup-');
    const p = await start(dataDir);
    await promoteClip(p);
    const redisPids = redisServersOf(dataDir);
    expect(redisPids).toHaveLength(1);
    const sent = Date.now();
    process.kill(redisPids[0], 'SIGTERM');
    process.kill(-p.child.pid!, 'SIGTERM');
    const exit = await p.exited;
    const out = p.output();
    expect(exit.code, out.slice(-3000)).toBe(0);
    expect(exit.at - sent).toBeLessThan(CLEAN_STOP_MS);
    expect(p.logs().some((l) => l.msg === 'stopped')).toBe(true);
    expect(stackTraceLines(out), out.slice(-3000)).toEqual([]);
    expect(out).not.toMatch(/Unhandled error event|worker error/);
    expect(redisServersOf(dataDir)).toEqual([]);
  }, 180_000);

  it('SIGKILL of the group leaves no redis-server behind, and a restart has the clips', async () => {
    const dataDir = processes.dataDir('dvr-kill-');
    const first = await start(dataDir, { VOD_STEP_DELAY_MS: '0' });
    await waitFor(() => first.logs().filter((l) => l.msg === 'rendition probed').length >= 6, 'chunks', 60_000, 200);
    const clip = await clipOfTheLastSeconds(first, false);
    process.kill(-first.child.pid!, 'SIGKILL');
    await first.exited;
    await waitFor(() => redisServersOf(dataDir).length === 0, 'the embedded redis-server to stop with the service', 15_000, 100);

    const second = await start(dataDir, { DEMO: '0' });
    const again = await api(second, 'GET', `/streaming/streams/1/clip_recording/${clip.body.id as string}`);
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(clip.body.id);
    expectClean(second, await stopGroup(second, 'SIGTERM'));
  }, 180_000);
});

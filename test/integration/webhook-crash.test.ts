// At least once through crashes (SPEC 13): a worker process killed (SIGKILL,
// for real) in the middle of a delivery is replaced by another that delivers
// the event, and the next one of the same clip after it; a process that dies
// between a change and the relay of its event loses nothing, and one that
// dies after queueing deliveries but before deleting the outbox entries
// sends nothing twice.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uninstallEvents, installEvents } from '../../src/events/announce.js';
import { eventKeys } from '../../src/events/keys.js';
import { relayEntries } from '../../src/events/relay.js';
import { startHarness, waitFor, type Harness } from '../helpers/harness.js';
import { startReceiver, type Receiver } from '../helpers/webhook-receiver.js';
import { exited, serveApiOnly, workerProcesses, type WorkerProcesses } from '../helpers/worker-process.js';

const LOCK_MS = 2000;
const ENV = { WEBHOOK_ALLOW_PRIVATE: '1', WEBHOOK_BACKOFF_MS: '50', WEBHOOK_SWEEP_MS: '200', JOB_LOCK_MS: String(LOCK_MS) };

let h: Harness;
let rx: Receiver;
let workers: WorkerProcesses;

beforeAll(async () => {
  h = await startHarness({ env: ENV });
  // This process only serves the API (and relays on its fast path): deliveries are for the worker processes.
  await serveApiOnly(h);
  workers = workerProcesses(h, { ...ENV, WEBHOOK_TIMEOUT_MS: '60000' });
  rx = await startReceiver();
}, 60_000);

afterAll(async () => {
  await workers?.close();
  await rx?.close();
  await h?.close();
});

async function readyClip(name: string): Promise<{ streamId: number; clipId: string }> {
  const stream = await h.createStream({ name });
  const { start } = await h.pushLadder(stream, { from: 0, to: 4, startAt: h.clock.alignToSecond() });
  const res = await h.api('PUT', `/streaming/streams/${stream.id}/clip_recording`, { start: start / 1000 + 1, duration: 2 });
  expect(res.statusCode, res.body).toBe(200);
  return { streamId: stream.id, clipId: res.json().id };
}

const clipEvents = (clipId: string) => rx.delivered().filter((r) => r.data.id === clipId).map((r) => r.type);

describe('webhook deliveries through crashes', () => {
  it('a worker killed mid-delivery: another takes the job over and delivers, then the next event', async () => {
    const res = await h.api('POST', '/streaming/webhooks', { url: rx.url, events: ['clip.created', 'clip.ready'] });
    rx.secret = res.json().secret;
    rx.answer = (r) => (r.n === 0 ? { hang: true } : { status: 200 });
    const { clipId } = await readyClip('Crash');

    const doomed = await workers.start();
    await waitFor(() => rx.requests.length === 1, 'the first worker to be mid-delivery', 20_000);
    doomed.kill('SIGKILL');
    expect(await exited(doomed)).toBe('SIGKILL');
    expect(rx.delivered()).toEqual([]);

    const survivor = await workers.start();
    await waitFor(() => clipEvents(clipId).length === 2, 'delivery by the second worker', 30_000);
    expect(clipEvents(clipId)).toEqual(['clip.created', 'clip.ready']);
    expect(rx.requests[1].id).toBe(rx.requests[0].id); // the same message, delivered at least once
    expect(rx.requests.every((r) => r.verified)).toBe(true);
    survivor.kill('SIGTERM');
    expect(await exited(survivor)).toBe(0);
  }, 90_000);

  it('a crash after the change but before its relay, and one after queueing but before the outbox entries went: once each', async () => {
    rx.answer = () => ({ status: 200 });
    uninstallEvents(h.ctx); // this process "dies" right after each change: no fast path
    try {
      const { streamId, clipId } = await readyClip('Outbox');
      const outbox = eventKeys(h.ctx.keys).streamOutbox(streamId);
      const entries = (await h.ctx.redis.xrange(outbox, '-', '+')) as Array<[string, string[]]>;
      const types = entries.map(([, f]) => f[f.indexOf('type') + 1]);
      expect(types).toEqual(expect.arrayContaining(['clip.created', 'clip.ready']));
      expect(await h.service.queues.webhooks.getJobCountByTypes('waiting', 'delayed', 'active')).toBe(0);

      // A relay that queued the first deliveries, then died before deleting the entries.
      await relayEntries(h.ctx, h.service.queues, outbox, entries.slice(0, 1));
      const worker = await workers.start();
      await waitFor(() => clipEvents(clipId).length >= 2, 'the sweep to relay what was left', 20_000);
      await new Promise((r) => setTimeout(r, 1500)); // room for a duplicate to show up
      expect(clipEvents(clipId)).toEqual(['clip.created', 'clip.ready']);
      expect(await h.ctx.redis.exists(outbox)).toBe(0);
      worker.kill('SIGTERM');
      expect(await exited(worker)).toBe(0);
    } finally {
      installEvents(h.ctx, h.service.queues);
    }
  }, 60_000);
});

// Secrets never reach a log line (SPEC 8), on a route that matched or not:
// tokens in query strings, the keys in push, live and VOD paths, the
// Authorization header. The service's real logger writes into a buffer here.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logging.js';
import { startHarness, type Harness } from '../helpers/harness.js';
import { loginAs } from '../helpers/vod-access.js';

const lines: string[] = [];
let h: Harness;
let token: string;

beforeAll(async () => {
  const log = createLogger('info', { write: (line: string) => void lines.push(line) });
  h = await startHarness({ log });
  token = (await loginAs(h, h.company.client_id)).token;
});
afterAll(async () => {
  await h?.close();
});

const vid = 'vid-AAAAAAAAAAAAAAAAAAAAAAAA';
const FAKE = 'SeCrEtVaLuE123';

async function send(method: string, url: string, payload?: object) {
  const at = lines.length;
  const res = await h.app.inject({ method: method as 'GET', url, ...(payload ? { payload } : {}) });
  return { res, logged: lines.slice(at).join('') };
}

describe('request logs', () => {
  it.each([
    ['POST', `/api/um-get-hls-segment/${vid}/1?access_token=TOKEN`],
    ['POST', `/api/um-get-hls-segment/${vid}/1/?user_token=TOKEN`],
    ['GET', '/api/v3/records/1/?access_token=TOKEN'],
    ['POST', '/api/v3/records/1?access_token=TOKEN'],
    ['DELETE', '/api/v3/records/1?access_token=TOKEN'],
    ['GET', '/api/v3/records/1?access_token=TOKEN'],
    ['GET', '/api/v3/records/%ZZ?access_token=TOKEN'],
    ['GET', `/api/v3/records/download/1/${vid}?access_token=TOKEN`],
    ['POST', `/distribution/1/${vid}.mp4/?access_token=TOKEN`],
    ['DELETE', `/distribution/1/${vid}.mp4/?access_token=TOKEN`],
    ['GET', `/distribution/1/${vid}.mp4/?access_token=TOKEN`],
    ['GET', `/distribution/1/${vid}.mp4?filename=a.mp4&access_token=TOKEN`],
    ['GET', '/streaming/streams?api_key=TOKEN&token=TOKEN'],
    ['OPTIONS', '/api/v3/records/1?access_token=TOKEN'],
    ['GET', '/nowhere?Access_Token=TOKEN&x=1'],
  ])('%s %s logs the request without the token', async (method, template) => {
    const { res, logged } = await send(method, template.replaceAll('TOKEN', token));
    expect(res.statusCode).toBeGreaterThanOrEqual(200);
    // Something was logged about this request, so its absence below means something.
    expect(logged).toMatch(/incoming request|request completed/);
    expect(logged).toContain('[redacted]');
    expect(logged).not.toContain(token);
    expect(logged).not.toContain(token.split('.')[2]);
  });

  it('the keys in push, live and VOD paths are not logged, on unmatched paths either', async () => {
    const stream = await h.createStream({ name: 'Logged' });
    const pushKey = new URL(stream.push_url_hls).pathname.split('/')[2];
    const playKey = new URL(stream.hls_url).pathname.split('/')[3];
    let requestLines = 0;
    for (const url of [
      `/ingest/${pushKey}`, `/ingest/${pushKey}/a/b.ts`, `/live/1_${stream.id}/${playKey}/`, `/live/1_${stream.id}/${playKey}/x/y`,
      `/vod/1/${FAKE}/x/y/z`, `/ingest/${pushKey}/%ZZ.ts`,
    ]) {
      const { logged } = await send('GET', url);
      // Matched playback and ingest routes log only problems; unmatched paths log every request.
      if (/incoming request/.test(logged)) requestLines += 1;
      expect(logged, url).not.toContain(pushKey);
      expect(logged, url).not.toContain(playKey);
      expect(logged, url).not.toContain(FAKE);
    }
    expect(requestLines).toBeGreaterThanOrEqual(4);
  });

  it('the API key of the Authorization header is not logged', async () => {
    const at = lines.length;
    await h.api('GET', '/streaming/streams/999999');
    await h.api('GET', '/streaming/streams/999999', undefined, 'a-wrong-key-' + FAKE);
    const logged = lines.slice(at).join('');
    expect(logged).toMatch(/request completed/);
    expect(logged).not.toContain(h.company.api_key);
    expect(logged).not.toContain(FAKE);
  });

  it('a token quoted in any logged text is redacted too', async () => {
    const at = lines.length;
    h.ctx.log.warn({ detail: `fetching /x?user_token=${token}&a=1 failed` }, `error for /y?access_token=${token}`);
    const logged = lines.slice(at).join('');
    expect(logged).toContain('user_token=[redacted]&a=1');
    expect(logged).toContain('access_token=[redacted]');
    expect(logged).not.toContain(token);
  });
});

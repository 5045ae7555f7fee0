// The studio page comes from the service itself: its HTML at / and /studio,
// its bundled TypeScript, its stylesheet and hls.js, all from this process.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../helpers/harness.js';

let h: Harness;
beforeAll(async () => { h = await startHarness(); }, 60_000);
afterAll(async () => { await h?.close(); });

describe('the studio is served by the service', () => {
  it('serves the page at / and /studio, and every file it loads', async () => {
    for (const url of ['/', '/studio']) {
      const res = await h.get(url);
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(res.body).toContain('<title>Clip studio</title>');
    }
    const page = (await h.get('/')).body;
    const assets = [...page.matchAll(/(?:src|href)="(\/studio\/[^"]+)"/g)].map((m) => m[1]);
    expect(assets.sort()).toEqual(['/studio/app.js', '/studio/hls.js', '/studio/studio.css']);
    const app = await h.get('/studio/app.js');
    expect(app.statusCode).toBe(200);
    expect(app.headers['content-type']).toMatch(/^text\/javascript/);
    // Bundled to plain JavaScript: no TypeScript left, no import of another file.
    expect(app.body).not.toMatch(/^import .* from/m);
    expect(app.body).toContain('studio.apiKey');
    const hls = await h.get('/studio/hls.js');
    expect(hls.statusCode).toBe(200);
    expect(hls.body.length).toBeGreaterThan(100_000);
    expect((await h.get('/studio/studio.css')).headers['content-type']).toMatch(/^text\/css/);
    expect((await h.get('/studio/nothing.js')).statusCode).toBe(404);
  });
});

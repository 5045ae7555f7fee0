// The browser the e2e tests drive: the machine's Chromium (CHROMIUM_PATH, else
// /usr/bin/chromium) headless, with nothing of its own on the network and
// autoplay allowed; and the test player page (test/e2e/browser/hls.html with
// hls.js) served from an origin of its own, so that CORS is exercised.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--autoplay-policy=no-user-gesture-required'],
  });
}

export const origin = (server: http.Server) => `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

/** The player page at every path but /hls.min.js, on 127.0.0.1. */
export async function servePlayerPage(): Promise<http.Server> {
  const page = readFileSync(path.join(here, '..', 'e2e', 'browser', 'hls.html'));
  const hlsJs = readFileSync(path.join(here, '..', '..', 'node_modules', 'hls.js', 'dist', 'hls.min.js'));
  const pages = http.createServer((req, res) => {
    const js = req.url === '/hls.min.js';
    res.writeHead(200, { 'content-type': js ? 'text/javascript' : 'text/html' }).end(js ? hlsJs : page);
  });
  await new Promise<void>((resolve) => pages.listen(0, '127.0.0.1', resolve));
  return pages;
}

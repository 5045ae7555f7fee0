// Makes the first start useful: a demo company and stream, the commands to
// try, and (unless DEMO=0) a synthetic live encoder pushing into the stream.
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import type { Context } from '../context.js';
import { createStream, loadStream, viewStream } from '../dvr/streams.js';
import { companyCount, createCompany } from '../tenancy/companies.js';
import { startDemoEncoder } from './encoder.js';

interface DemoCredentials { client_id: number; api_key: string; stream_id: number }

async function readCredentials(file: string): Promise<DemoCredentials | null> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as DemoCredentials;
  } catch {
    return null;
  }
}

export async function prepareDemo(ctx: Context): Promise<{ stop(): Promise<void> } | null> {
  const file = path.join(ctx.config.dataDir, 'demo-credentials.json');
  let demo = await readCredentials(file);
  if (!demo && (await companyCount(ctx)) === 0) {
    const company = await createCompany(ctx, 'Demo company');
    const stream = await createStream(ctx, company.client_id, { name: 'Demo stream', dvr_duration: 3600 });
    demo = { client_id: company.client_id, api_key: company.api_key, stream_id: stream.id };
    await mkdir(ctx.config.dataDir, { recursive: true });
    await writeFile(file, JSON.stringify(demo, null, 2));
    await chmod(file, 0o600);
  }
  if (!demo) return null;
  const stream = await loadStream(ctx, demo.stream_id);
  if (!stream) return null;
  const view = await viewStream(ctx, stream);
  const base = ctx.config.publicBaseUrl;
  const key = view.push_url.split('/').pop();
  const rtmpUp = ctx.config.rtmpPort > 0 && (await listening(ctx.config.rtmpPort));
  const lines = [
    '',
    `Demo company ${demo.client_id}, API key: ${demo.api_key}   (kept in ${file})`,
    `Demo stream ${stream.id}: RTMP ${view.push_url}   SRT ${view.push_url_srt}   HLS over HTTP ${view.push_url_hls}`,
    `OBS: Settings > Stream > Service "Custom...", Server ${view.push_url.slice(0, -(key?.length ?? 0) - 1)}, Stream Key ${key}`,
    ...(view.push_url_rtmps
      ? [`RTMPS (TLS): ${view.push_url_rtmps}   (OBS: Server ${view.push_url_rtmps.slice(0, -(key?.length ?? 0) - 1)}, same key)`]
      : []),
    `ffmpeg: ffmpeg -re -i input.mp4 -c:v libx264 -g 50 -c:a aac -f flv ${view.push_url}`,
    'Clip the last 20 seconds (wait ~30 s after the first start so the DVR has them):',
    `  curl -s -X PUT -H 'Authorization: apikey ${demo.api_key}' -H 'Content-Type: application/json' \\`,
    `    -d "{\\"duration\\": 20, \\"start\\": $(( $(date +%s) - 25 ))}" ${base}/streaming/streams/${stream.id}/clip_recording`,
    `Then play its hls_master (ffplay, VLC, hls.js) or fetch its mp4_master. API docs: ${base}/docs`,
    '',
  ];
  process.stdout.write(lines.join('\n') + '\n');
  if (!ctx.config.demo) return null;
  // Over RTMP, the path most producers take; over HTTP when RTMP is off or could not start.
  const target = rtmpUp ? `rtmp://127.0.0.1:${ctx.config.rtmpPort}/in/${key}` : view.push_url_hls;
  ctx.log.info({ stream_id: stream.id, via: rtmpUp ? 'rtmp' : 'http' }, 'demo encoder starting (DEMO=0 turns it off)');
  return startDemoEncoder(target, ctx.log);
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
  });
}

// SRT ingest on one UDP port for every stream, routed by `streamid`.
// ffmpeg's libsrt listener takes one caller per process and cannot pick by
// stream id, so this relay stands in front: it answers each caller's
// induction itself, reads the stream id from its conclusion, admits or
// refuses it (a rejection handshake, at connect time), and for an admitted
// caller starts the packager, whose reader ffmpeg listens on a loopback port
// of its own. The relay then replays the caller's handshake to that listener
// (with the listener's cookie) and from there on copies datagrams both ways.
// Encryption (passphrase), latency and the key exchange stay between the
// caller and libsrt.
import { createHash, randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import type { Context } from '../context.js';
import { PublisherSet } from './publishers.js';
import { clearSource } from './stream-state.js';
import {
  cookieOf, handshakeType, HS_CONCLUSION, HS_INDUCTION, inductionResponse, isHandshake, rejection, REJECT_FORBIDDEN,
  REJECT_NOT_FOUND, streamIdOf, streamKeyOf, withCookie,
} from './srt-handshake.js';

/** A caller silent this long is forgotten (SRT sends keep-alives every second). */
const IDLE_MS = 15_000;
const SETUP_TIMEOUT_MS = 8000;

interface Caller {
  address: string;
  port: number;
  state: 'admitting' | 'connecting' | 'relaying' | 'refused';
  streamKey?: string;
  upstream?: dgram.Socket;
  internalPort?: number;
  innerCookie?: number;
  lastSeen: number;
  refusal?: Buffer;
}

export interface SrtGateway {
  port: number;
  publishers: PublisherSet;
  close(): Promise<void>;
}

async function freeUdpPort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  const { port } = s.address();
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

export async function startSrtGateway(ctx: Context, ingestBase: () => string): Promise<SrtGateway> {
  const { srtPort, srtLatencyMs, srtPassphrase, host } = ctx.config;
  const socket = dgram.createSocket('udp4');
  const callers = new Map<string, Caller>();
  const secret = randomBytes(16);
  const ourSocketId = randomBytes(4).readUInt32BE(0) & 0x3fffffff;
  const cookieFor = (id: string) => createHash('sha256').update(secret).update(id).digest().readUInt32BE(0);

  const drop = (id: string) => {
    const c = callers.get(id);
    if (!c) return;
    callers.delete(id);
    c.upstream?.close();
  };

  const publishers = new PublisherSet(ctx, {
    protocol: 'srt',
    ingestTarget: (key) => `${ingestBase()}/ingest/${key}/`,
    input: (_key, connection) => {
      const c = callers.get(connection);
      // %20, not URLSearchParams' '+': ffmpeg decodes percent escapes only.
      let q = `mode=listener&latency=${srtLatencyMs * 1000}&listen_timeout=${SETUP_TIMEOUT_MS * 1000}`;
      if (srtPassphrase) q += `&passphrase=${encodeURIComponent(srtPassphrase)}`;
      return { input: `srt://127.0.0.1:${c?.internalPort ?? 1}?${q}`, inputOptions: [] };
    },
    kick: async (_key, connection) => drop(connection),
  });

  const send = (buf: Buffer, c: Caller) => socket.send(buf, c.port, c.address);

  /** Replays the caller's induction to the packager's listener until it answers, then the conclusion. */
  const connectInner = async (id: string, induction: Buffer, conclusion: Buffer) => {
    const c = callers.get(id);
    if (!c?.upstream || !c.internalPort) return;
    const deadline = Date.now() + SETUP_TIMEOUT_MS;
    while (c.innerCookie === undefined && callers.get(id) === c && Date.now() < deadline) {
      c.upstream.send(induction, c.internalPort, '127.0.0.1');
      await new Promise((r) => setTimeout(r, 100));
    }
    if (c.innerCookie === undefined) {
      ctx.log.warn({ protocol: 'srt', peer: id }, 'srt: the packager did not start listening in time');
      await publishers.end(c.streamKey!, id);
      drop(id);
      return;
    }
    c.state = 'relaying';
    c.upstream.send(withCookie(conclusion, c.innerCookie), c.internalPort, '127.0.0.1');
  };

  const onAdmit = async (id: string, c: Caller, induction: Buffer, conclusion: Buffer) => {
    const raw = streamIdOf(conclusion);
    const key = streamKeyOf(raw);
    const admission = key === null
      ? ({ ok: false, status: 403, reason: 'this port only takes publishers (m=publish)' } as const)
      : await publishers.admit(key, c.address);
    if (key === null) ctx.log.warn({ protocol: 'srt', peer: c.address }, 'srt publish refused: a reader, not a publisher');
    if (!admission.ok) {
      c.state = 'refused';
      c.refusal = rejection(conclusion, admission.status === 404 || admission.status === 400 ? REJECT_NOT_FOUND : REJECT_FORBIDDEN);
      send(c.refusal, c);
      setTimeout(() => drop(id), 5000).unref();
      return;
    }
    c.streamKey = key!;
    c.internalPort = await freeUdpPort();
    c.upstream = dgram.createSocket('udp4');
    c.upstream.on('error', () => undefined);
    c.upstream.on('message', (msg) => {
      if (isHandshake(msg)) {
        const type = handshakeType(msg);
        if (type === HS_INDUCTION && c.innerCookie === undefined) {
          c.innerCookie = cookieOf(msg);
          return;
        }
        if (type >= 1000 && type !== HS_CONCLUSION) {
          // libsrt refused the caller (wrong or missing passphrase): pass it on, end the publish.
          ctx.log.warn({ protocol: 'srt', stream_id: admission.stream.record.id, reason: type - 1000 }, 'srt publish refused by libsrt (passphrase?)');
          send(msg, c);
          c.state = 'refused';
          void publishers.end(c.streamKey!, id)
            .then(() => clearSource(ctx, admission.stream.record.id, 'srt', 1)) // nothing of it was stored
            .then(() => drop(id));
          return;
        }
      }
      c.lastSeen = Date.now();
      send(msg, c);
    });
    await new Promise<void>((resolve) => c.upstream!.bind(0, '127.0.0.1', resolve));
    c.state = 'connecting';
    await publishers.begin(key!, id, admission.stream);
    await connectInner(id, induction, conclusion);
  };

  const inductions = new Map<string, Buffer>();
  socket.on('message', (msg, rinfo) => {
    const id = `${rinfo.address}:${rinfo.port}`;
    let c = callers.get(id);
    if (c) c.lastSeen = Date.now();
    if (c?.state === 'relaying') {
      const out = isHandshake(msg) && handshakeType(msg) === HS_CONCLUSION && c.innerCookie !== undefined ? withCookie(msg, c.innerCookie) : msg;
      c.upstream!.send(out, c.internalPort!, '127.0.0.1');
      return;
    }
    if (!isHandshake(msg)) return; // nothing but handshakes before a caller is admitted
    const type = handshakeType(msg);
    if (type === HS_INDUCTION) {
      if (!c) inductions.set(id, msg);
      send(inductionResponse(msg, cookieFor(id), ourSocketId), { address: rinfo.address, port: rinfo.port } as Caller);
      return;
    }
    if (type !== HS_CONCLUSION || cookieOf(msg) !== cookieFor(id)) return;
    if (c) {
      if (c.state === 'refused' && c.refusal) send(c.refusal, c);
      return; // a retransmission while it is being admitted or connected
    }
    const induction = inductions.get(id);
    inductions.delete(id);
    if (!induction) return;
    c = { address: rinfo.address, port: rinfo.port, state: 'admitting', lastSeen: Date.now() };
    callers.set(id, c);
    const caller = c;
    onAdmit(id, caller, induction, msg).catch((err) => {
      ctx.log.error({ err, peer: id }, 'srt admission failed');
      drop(id);
    });
  });
  socket.on('error', (err) => ctx.log.error({ err }, 'srt socket error'));
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(srtPort, host === '' ? '0.0.0.0' : host, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  ctx.log.info({ port: srtPort }, 'srt ingest listening (one port, routed by streamid)');

  const sweep = setInterval(() => {
    const now = Date.now();
    for (const [id, c] of callers) {
      if (now - c.lastSeen > IDLE_MS) {
        if (c.streamKey) void publishers.end(c.streamKey, id);
        drop(id);
      }
    }
    if (inductions.size > 10_000) inductions.clear();
  }, 5000);
  sweep.unref();

  return {
    port: srtPort,
    publishers,
    async close() {
      clearInterval(sweep);
      await publishers.closeAll();
      for (const id of [...callers.keys()]) drop(id);
      await new Promise<void>((resolve) => socket.close(() => resolve()));
    },
  };
}

// Talking to an HLS origin: which URLs may be fetched (http(s) only; private,
// loopback and link-local addresses refused unless PULL_ALLOW_PRIVATE), and
// fetching with a timeout, a size cap and redirects checked hop by hop.
import dns from 'node:dns/promises';
import net from 'node:net';

export class OriginError extends Error {
  constructor(message: string, readonly permanent = false) {
    super(message);
  }
}

const FETCH_TIMEOUT_MS = 10_000;
const MAX_REDIRECTS = 3;

/** The space-separated URLs of `uri`; throws OriginError for one that is not http(s). */
export function pullUrls(uri: string): URL[] {
  const parts = uri.trim().split(/\s+/).filter(Boolean);
  if (parts.length === 0) throw new OriginError('pull: true needs a uri', true);
  return parts.map((part) => {
    let url: URL;
    try {
      url = new URL(part);
    } catch {
      throw new OriginError(`uri "${part.slice(0, 100)}" is not a URL`, true);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new OriginError(`uri "${part.slice(0, 100)}" is not http(s)`, true);
    return url;
  });
}

function v4Private(a: number[]): boolean {
  const [x, y] = a;
  return x === 0 || x === 10 || x === 127 || (x === 169 && y === 254) || (x === 172 && y >= 16 && y <= 31)
    || (x === 192 && y === 168) || (x === 100 && y >= 64 && y <= 127) || x >= 224;
}

/** Loopback, private, link-local, CGNAT, unique-local, multicast or unspecified. */
export function isPrivateAddress(address: string): boolean {
  if (net.isIPv4(address)) return v4Private(address.split('.').map(Number));
  const a = address.toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  if (mapped) return v4Private(mapped[1].split('.').map(Number));
  return a === '::' || a === '::1' || /^f[cd]/.test(a) || /^fe[89ab]/.test(a) || a.startsWith('ff');
}

async function checkHost(url: URL, allowPrivate: boolean): Promise<void> {
  if (allowPrivate) return;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  let addresses: string[];
  try {
    addresses = net.isIP(host) ? [host] : (await dns.lookup(host, { all: true })).map((r) => r.address);
  } catch {
    throw new OriginError(`origin ${url.host} does not resolve`);
  }
  if (addresses.some(isPrivateAddress)) {
    throw new OriginError(`origin ${url.host} is a private or loopback address: refused (PULL_ALLOW_PRIVATE=1 allows it)`, true);
  }
}

async function readCapped(res: Response, maxBytes: number, what: string): Promise<Buffer> {
  const declared = Number(res.headers.get('content-length') ?? '');
  if (declared > maxBytes) throw new OriginError(`${what} is over ${maxBytes} bytes`);
  const parts: Buffer[] = [];
  let size = 0;
  for await (const part of res.body ?? []) {
    size += part.length;
    if (size > maxBytes) throw new OriginError(`${what} is over ${maxBytes} bytes`);
    parts.push(Buffer.from(part));
  }
  return Buffer.concat(parts);
}

/** GET with every redirect hop's host checked; OriginError on anything but 200. */
export async function fetchOrigin(url: URL, opts: { allowPrivate: boolean; maxBytes: number; what: string }): Promise<{ url: URL; body: Buffer }> {
  let current = url;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    await checkHost(current, opts.allowPrivate);
    let res: Response;
    try {
      res = await fetch(current, { redirect: 'manual', signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
    } catch (err) {
      throw new OriginError(`${opts.what} ${current.href}: unreachable (${(err as Error).cause ? String((err as { cause: Error }).cause.message ?? (err as Error).cause) : (err as Error).message})`);
    }
    if (res.status >= 300 && res.status < 400 && res.headers.get('location')) {
      await res.body?.cancel();
      current = new URL(res.headers.get('location')!, current);
      if (current.protocol !== 'http:' && current.protocol !== 'https:') throw new OriginError(`${opts.what} redirects to a non-http(s) URL`, true);
      continue;
    }
    if (res.status !== 200) {
      await res.body?.cancel();
      throw new OriginError(`${opts.what} ${current.href}: HTTP ${res.status}`);
    }
    try {
      return { url: current, body: await readCapped(res, opts.maxBytes, opts.what) };
    } catch (err) {
      if (err instanceof OriginError) throw err;
      throw new OriginError(`${opts.what} ${current.href}: ${(err as Error).message}`);
    }
  }
  throw new OriginError(`${opts.what}: more than ${MAX_REDIRECTS} redirects`);
}

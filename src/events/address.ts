// Where a webhook may be sent. Only http(s); and, unless
// WEBHOOK_ALLOW_PRIVATE=1, never to a private, loopback, link-local or other
// special-purpose address: a company must not make the service call into
// its own network (SSRF). The check runs on the addresses DNS gives at
// connect time (so a name that changes its answer later is caught too), and
// redirects are never followed.
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP } from 'node:net';

export const MAX_URL_LENGTH = 2048;

const blocked = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['198.51.100.0', 24],
  ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) blocked.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [
  ['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8], ['2001:db8::', 32], ['100::', 64],
] as const) blocked.addSubnet(net, bits, 'ipv6');

/** True for an address no webhook may reach by default (IPv4-mapped and NAT64 IPv6 forms included). */
export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return blocked.check(address, 'ipv4');
  if (family !== 6) return true;
  const lower = address.toLowerCase();
  const mapped = /^(?:::ffff:|64:ff9b::)(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (mapped) return blocked.check(mapped[1], 'ipv4');
  const hexMapped = /^(?:::ffff:|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower);
  if (hexMapped) {
    const hi = parseInt(hexMapped[1], 16);
    const lo = parseInt(hexMapped[2], 16);
    return blocked.check(`${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`, 'ipv4');
  }
  return blocked.check(address, 'ipv6');
}

export class WebhookUrlError extends Error {}

/** The URL's host as an address or a name (brackets of an IPv6 literal removed). */
export function hostOf(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, '$1');
}

/** Parses and checks a URL given for an endpoint; the DNS check is `checkResolves`. */
export function parseWebhookUrl(raw: string, allowPrivate: boolean): URL {
  if (raw.length > MAX_URL_LENGTH) throw new WebhookUrlError(`url is longer than ${MAX_URL_LENGTH} characters`);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new WebhookUrlError(`url "${raw.slice(0, 100)}" is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new WebhookUrlError(`url must be http or https, not ${url.protocol.replace(/:$/, '')}`);
  if (url.username || url.password) throw new WebhookUrlError('url must not carry a user name or password');
  const host = hostOf(url);
  if (!host) throw new WebhookUrlError('url has no host');
  if (!allowPrivate && isIP(host) && isPrivateAddress(host)) {
    throw new WebhookUrlError(`url points at a private, loopback or link-local address (${host}); webhooks go to public addresses`);
  }
  return url;
}

function resolveAll(host: string): Promise<LookupAddress[]> {
  return new Promise((resolve, reject) => dnsLookup(host, { all: true }, (err, addresses) => (err ? reject(err) : resolve(addresses))));
}

/** At creation: a name that resolves to a private address is refused now, with a clear message. */
export async function checkResolves(url: URL, allowPrivate: boolean): Promise<void> {
  const host = hostOf(url);
  if (allowPrivate || isIP(host)) return;
  let addresses: LookupAddress[];
  try {
    addresses = await resolveAll(host);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOTFOUND') throw new WebhookUrlError(`url host ${host} does not resolve`);
    return; // a passing DNS failure: deliveries check again at connect time
  }
  const inside = addresses.find((a) => isPrivateAddress(a.address));
  if (inside) throw new WebhookUrlError(`url host ${host} resolves to a private, loopback or link-local address (${inside.address})`);
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `lookup` for http.request that refuses private addresses: the address
 * connected to is the one checked, so DNS cannot switch it after the check.
 */
export function guardedLookup(allowPrivate: boolean) {
  return (host: string, options: { all?: boolean; family?: number }, callback: LookupCallback): void => {
    dnsLookup(host, { all: true, family: options.family ?? 0 }, (err, addresses) => {
      if (err) return callback(err, []);
      if (!allowPrivate) {
        const inside = addresses.find((a) => isPrivateAddress(a.address));
        if (inside) {
          const refused = Object.assign(new Error(`refused: ${host} resolves to a private address (${inside.address})`), { code: 'EPRIVATE' });
          return callback(refused, []);
        }
      }
      if (options.all) return callback(null, addresses);
      callback(null, addresses[0].address, addresses[0].family);
    });
  };
}

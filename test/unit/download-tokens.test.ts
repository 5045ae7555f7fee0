// The download-link key and tokens (SPEC 2, 7.3): generated once into
// DATA_DIR (also when several processes start at once), or read from
// DOWNLOAD_SIGNING_KEY_FILE; tokens bound to one file, checkable with the
// JWKS alone.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, SignJWT, base64url } from 'jose';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import type { Context } from '../../src/context.js';
import { defaultKeyFile, DownloadTokens } from '../../src/tenancy/download-tokens.js';

let dir: string;
let now: number;

function ctxFor(env: Record<string, string> = {}): Context {
  const config = loadConfig({ DATA_DIR: dir, ...env });
  return { config, log: pino({ level: 'silent' }), clock: { now: () => now } } as unknown as Context;
}

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'download-keys-'));
  now = Date.UTC(2025, 0, 1);
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the signing key', () => {
  it('is generated once into DATA_DIR (0600), even by many processes starting at once', async () => {
    const loaded = await Promise.all(Array.from({ length: 8 }, () => DownloadTokens.load(ctxFor())));
    expect(new Set(loaded.map((t) => t.kid)).size).toBe(1);
    const file = defaultKeyFile(dir);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await readdir(path.dirname(file))).toEqual(['download-signing-key.pem']);
    // A restart reads the same key.
    expect((await DownloadTokens.load(ctxFor())).kid).toBe(loaded[0].kid);
    expect(loaded[0].jwks.keys).toEqual([
      { kty: 'OKP', crv: 'Ed25519', x: expect.any(String), kid: loaded[0].kid, alg: 'EdDSA', use: 'sig' },
    ]);
  });

  it('can be given as DOWNLOAD_SIGNING_KEY_FILE (P-256: ES256)', async () => {
    const file = path.join(dir, 'mine.pem');
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    await writeFile(file, privateKey.export({ type: 'sec1', format: 'pem' }));
    const tokens = await DownloadTokens.load(ctxFor({ DOWNLOAD_SIGNING_KEY_FILE: file }));
    expect(tokens.jwks.keys[0]).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256' });
    const token = await tokens.issue('/distribution/1/vid-x.mp4');
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'ES256', kid: tokens.kid, typ: 'JWT' });
    expect(await tokens.check(token, '/distribution/1/vid-x.mp4')).toBe('ok');
  });

  it('stops the boot with the variable named when the configured file is missing', async () => {
    await expect(DownloadTokens.load(ctxFor({ DOWNLOAD_SIGNING_KEY_FILE: path.join(dir, 'none.pem') })))
      .rejects.toThrow(/^DOWNLOAD_SIGNING_KEY_FILE: cannot read/);
  });
});

describe('download tokens', () => {
  const file = '/distribution/7/vid-abcdefghijklmnopqrstu.mp4';

  it('verify with the JWKS alone (what an edge does) and carry the path, iat and a 30-minute exp', async () => {
    const tokens = await DownloadTokens.load(ctxFor());
    const token = await tokens.issue(file);
    const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(tokens.jwks), { currentDate: new Date(now) });
    expect(protectedHeader).toEqual({ alg: 'EdDSA', kid: tokens.kid, typ: 'JWT' });
    expect(payload).toEqual({ typ: 'download', path: file, iat: now / 1000, exp: now / 1000 + 1800 });
  });

  it('are refused once expired, when edited, for another file, or from another key', async () => {
    const tokens = await DownloadTokens.load(ctxFor());
    const token = await tokens.issue(file);
    expect(await tokens.check(token, file)).toBe('ok');
    expect(await tokens.check(token, '/distribution/7/vid-otherotherotherother.mp4')).toBe('other-file');

    const [header, , signature] = token.split('.');
    const edit = (claims: object) => `${header}.${base64url.encode(JSON.stringify(claims))}.${signature}`;
    expect(await tokens.check(edit({ typ: 'download', path: '/distribution/8/x.mp4', iat: now / 1000, exp: now / 1000 + 1800 }), file)).toBe('invalid');
    expect(await tokens.check(edit({ typ: 'download', path: file, iat: now / 1000, exp: now / 1000 + 99999 }), file)).toBe('invalid');
    expect(await tokens.check('garbage', file)).toBe('invalid');

    now += 1800_000 + 1000;
    expect(await tokens.check(token, file)).toBe('invalid');

    const stranger = generateKeyPairSync('ed25519').privateKey;
    const forged = await new SignJWT({ typ: 'download', path: file })
      .setProtectedHeader({ alg: 'EdDSA', kid: tokens.kid }).setIssuedAt(now / 1000).setExpirationTime(now / 1000 + 60)
      .sign(stranger);
    expect(await tokens.check(forged, file)).toBe('invalid');
  });
});

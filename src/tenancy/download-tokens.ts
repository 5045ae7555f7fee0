// Download links (SPEC 7.3) carry their own token: a JWT signed with an
// asymmetric key, valid downloadTokenTtlSeconds, bound to one file by its
// `path` claim, with the key's `kid` in the header. The public key is served
// as a JWKS (/.well-known/jwks.json) so an edge server can check links with
// it alone.
//
// The private key is DOWNLOAD_SIGNING_KEY_FILE when set (PEM: Ed25519,
// P-256 or RSA). Otherwise an Ed25519 key is generated into
// DATA_DIR/keys/download-signing-key.pem on first start. Several processes
// sharing one DATA_DIR agree on one key: the file is written elsewhere and
// hard-linked into place, which fails if another process got there first
// (then its key is used). Processes that do NOT share DATA_DIR must all be
// given the same DOWNLOAD_SIGNING_KEY_FILE, or a link made by one is refused
// by another.
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { calculateJwkThumbprint, importJWK, importPKCS8, jwtVerify, SignJWT, type JWK } from 'jose';
import type { Context } from '../context.js';

const TYP = 'download';
const MAX_TOKEN_LENGTH = 4096;

export type DownloadCheck = 'ok' | 'invalid' | 'other-file';

type Alg = 'EdDSA' | 'ES256' | 'PS512';

function algorithmOf(key: KeyObject): Alg {
  if (key.asymmetricKeyType === 'ed25519') return 'EdDSA';
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ES256';
  if (key.asymmetricKeyType === 'rsa' && (key.asymmetricKeyDetails?.modulusLength ?? 0) >= 2048) return 'PS512';
  throw new Error('the download signing key must be Ed25519, EC P-256 or RSA of at least 2048 bits');
}

export function defaultKeyFile(dataDir: string): string {
  return path.join(dataDir, 'keys', 'download-signing-key.pem');
}

/** Reads the key file, creating it first if it is the default one and missing. */
async function readOrCreateKeyPem(ctx: Context): Promise<string> {
  const configured = ctx.config.downloadSigningKeyFile;
  if (configured) {
    try {
      return await readFile(configured, 'utf8');
    } catch (err) {
      throw new Error(`DOWNLOAD_SIGNING_KEY_FILE: cannot read ${configured}: ${(err as Error).message}`);
    }
  }
  const file = defaultKeyFile(ctx.config.dataDir);
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const { privateKey } = generateKeyPairSync('ed25519');
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  const temp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(temp, pem, { mode: 0o600, flag: 'wx' });
  try {
    await link(temp, file);
    ctx.log.info({ file }, 'generated the download-link signing key');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    await unlink(temp).catch(() => undefined);
  }
  return readFile(file, 'utf8');
}

export class DownloadTokens {
  private constructor(
    private readonly ctx: Context,
    private readonly alg: Alg,
    readonly kid: string,
    private readonly privateKey: CryptoKey,
    private readonly publicKey: CryptoKey,
    readonly jwks: { keys: JWK[] },
  ) {}

  static async load(ctx: Context): Promise<DownloadTokens> {
    const keyObject = createPrivateKey(await readOrCreateKeyPem(ctx));
    const alg = algorithmOf(keyObject);
    const publicJwk = createPublicKey(keyObject).export({ format: 'jwk' }) as JWK;
    const kid = await calculateJwkThumbprint(publicJwk);
    const pkcs8 = keyObject.export({ type: 'pkcs8', format: 'pem' }) as string;
    const privateKey = await importPKCS8(pkcs8, alg);
    const publicKey = (await importJWK(publicJwk, alg)) as CryptoKey;
    const jwk: JWK = { ...publicJwk, kid, alg, use: 'sig' };
    return new DownloadTokens(ctx, alg, kid, privateKey, publicKey, { keys: [jwk] });
  }

  /** A token for the one file at `filePath` (the URL path, e.g. /distribution/7/vid-….mp4). */
  async issue(filePath: string): Promise<string> {
    const now = Math.floor(this.ctx.clock.now() / 1000);
    return new SignJWT({ typ: TYP, path: filePath })
      .setProtectedHeader({ alg: this.alg, kid: this.kid, typ: 'JWT' })
      .setIssuedAt(now)
      .setExpirationTime(now + this.ctx.config.downloadTokenTtlSeconds)
      .sign(this.privateKey);
  }

  /** 'ok' for a valid, unexpired token made for `filePath`; 'other-file' for a valid one made for another. */
  async check(token: string, filePath: string): Promise<DownloadCheck> {
    if (token.length > MAX_TOKEN_LENGTH) return 'invalid';
    try {
      const { payload, protectedHeader } = await jwtVerify(token, this.publicKey, {
        algorithms: [this.alg],
        requiredClaims: ['exp', 'iat'],
        currentDate: new Date(this.ctx.clock.now()),
      });
      if (protectedHeader.kid !== this.kid || payload.typ !== TYP || typeof payload.path !== 'string') return 'invalid';
      return payload.path === filePath ? 'ok' : 'other-file';
    } catch {
      return 'invalid';
    }
  }
}

// The RTMP server the service runs (nginx with its RTMP module, and its
// stream module for RTMPS) must start as a user that is not root: the Docker
// image runs the service as `node`, and so do most hosts. Tests run as
// root, where every log path nginx knows of is writable; so here nginx
// checks the very config the service writes (`nginx -t` opens every file it
// would) as the unprivileged user `nobody`.
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nginxConfig, rtmpModulePath, streamModulePath } from '../../src/gateways/nginx-rtmp.js';
import { NGINX } from '../helpers/nginx.js';

const run = promisify(execFile);
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'dvr-rtmp-nobody-'));
  await chmod(dir, 0o777);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** `nginx -t` of the config as user nobody: what it printed, and whether it passed. */
async function checkAsNobody(config: string): Promise<{ ok: boolean; output: string }> {
  const file = path.join(dir, 'nginx.conf');
  await writeFile(file, config);
  await chmod(file, 0o644);
  const args = ['--reuid=nobody', '--regid=nogroup', '--clear-groups', NGINX, '-t', '-p', `${dir}/`, '-c', file, '-e', 'stderr'];
  return run('setpriv', args).then(
    ({ stderr }) => ({ ok: true, output: stderr }),
    (err: { stderr?: string }) => ({ ok: false, output: err.stderr ?? String(err) }),
  );
}

// As root the test can become nobody; as any other user the service already is not root.
describe.skipIf(process.getuid?.() !== 0)('the RTMP server as a user that is not root', () => {
  it('RTMP: the config the service writes passes nginx -t as nobody', async () => {
    const config = nginxConfig({ module: rtmpModulePath()!, dir, host: '127.0.0.1', port: 19350, callbackBase: 'http://127.0.0.1:1', controlSocket: path.join(dir, 'control.sock') });
    const checked = await checkAsNobody(config);
    expect(checked.output).not.toMatch(/Permission denied/);
    expect(checked.ok, checked.output).toBe(true);
    // The same config with the RTMP module's default access log fails the same way the image did.
    const defaultLog = await checkAsNobody(config.replace(/^ {2}access_log off;\n/m, ''));
    expect(defaultLog.ok).toBe(false);
    expect(defaultLog.output).toMatch(/access\.log.*Permission denied/);
  });

  it('RTMPS: with a certificate the user can read, it passes too', async () => {
    const key = path.join(dir, 'key.pem');
    const cert = path.join(dir, 'cert.pem');
    await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-keyout', key, '-out', cert]);
    await chmod(key, 0o644);
    const config = nginxConfig({
      module: rtmpModulePath()!, dir, host: '127.0.0.1', port: 19351, callbackBase: 'http://127.0.0.1:1', controlSocket: path.join(dir, 'control.sock'),
      tls: { port: 19352, certFile: cert, keyFile: key, module: streamModulePath()! },
    });
    const checked = await checkAsNobody(config);
    expect(checked.ok, checked.output).toBe(true);
  });
});

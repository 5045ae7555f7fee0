// nginx run by a test or a benchmark as an ordinary user: in a prefix folder
// of its own that holds its config, pid, logs and temp files, one worker, in
// the foreground, and stopped by its own pid.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

export const NGINX = existsSync('/usr/sbin/nginx') ? '/usr/sbin/nginx' : 'nginx';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A new prefix folder; nginx's workers drop root, so they must be able to enter it. */
export async function nginxPrefix(name: string): Promise<string> {
  const prefix = await mkdtemp(path.join(os.tmpdir(), name));
  await chmod(prefix, 0o755);
  await mkdir(path.join(prefix, 'tmp'), { recursive: true });
  return prefix;
}

/** The main nginx.conf for a prefix; `http` is what goes inside its http block (servers, includes). */
export function prefixConfig(prefix: string, http: string): string {
  return `daemon off;
worker_processes 1;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${prefix}/tmp/body; proxy_temp_path ${prefix}/tmp/proxy;
  fastcgi_temp_path ${prefix}/tmp/fcgi; uwsgi_temp_path ${prefix}/tmp/uwsgi; scgi_temp_path ${prefix}/tmp/scgi;
${http}
}
`;
}

export interface Nginx {
  child: ChildProcess;
  /** SIGTERM, then SIGKILL after 5 s; the prefix folder is removed. */
  stop(): Promise<void>;
}

/**
 * Writes prefixConfig(prefix, http) and starts nginx on it; resolves once
 * `listening()` is true. An nginx that exits first, or does not listen within
 * `timeoutMs`, is reported with what it printed and its error log.
 */
export async function startNginx(prefix: string, http: string, listening: () => Promise<boolean>, timeoutMs = 15_000): Promise<Nginx> {
  const conf = path.join(prefix, 'nginx.conf');
  await writeFile(conf, prefixConfig(prefix, http));
  const child = spawn(NGINX, ['-p', prefix, '-c', conf, '-e', path.join(prefix, 'error.log')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const stop = async () => {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(5000)]);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    await rm(prefix, { recursive: true, force: true });
  };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const problem = child.exitCode !== null ? `nginx exited (${child.exitCode})`
      : Date.now() > deadline ? `nginx did not listen within ${timeoutMs} ms` : undefined;
    if (problem) {
      const log = await readFile(path.join(prefix, 'error.log'), 'utf8').catch(() => '');
      await stop();
      throw new Error(`${problem}: ${stderr} ${log}`);
    }
    if (await listening()) return { child, stop };
    await sleep(50);
  }
}

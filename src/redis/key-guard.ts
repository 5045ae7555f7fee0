// SPEC 9: every Lua script names each key it touches in KEYS. Redis itself
// only checks that on a Cluster, and only across slots, so the test suite
// runs every script with key-guard.lua in front (DVR_LUA_KEY_GUARD=1): an
// undeclared key is an error there, not a surprise behind a proxy.
import { readFileSync } from 'node:fs';

const guard = readFileSync(new URL('./key-guard.lua', import.meta.url), 'utf8');

/** The script as Redis should run it: with the guard in front when it is on. */
export function guarded(lua: string): string {
  return process.env.DVR_LUA_KEY_GUARD === '1' ? `${guard}\n${lua}` : lua;
}

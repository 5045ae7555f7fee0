import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The media fixtures, made once before the test files run in parallel.
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Forks, not threads: tests spawn ffmpeg and redis-server, and a crashed
    // child process should not take a worker thread's siblings with it.
    pool: 'forks',
    fileParallelism: true,
    maxWorkers: 2, // CI machines have 2 cores
    // Many tests run real ffmpeg encoders and wait on real time; on a loaded
    // 2-core machine one can miss its moment. A test that fails is run again
    // (up to twice) with the same assertions: a real defect fails every time.
    retry: 2,
    // Every Lua script fails on a key it does not name in KEYS (src/redis/key-guard.ts).
    env: { DVR_LUA_KEY_GUARD: '1' },
  },
});

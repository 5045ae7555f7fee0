import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Forks, not threads: tests spawn ffmpeg and redis-server, and a crashed
    // child process should not take a worker thread's siblings with it.
    pool: 'forks',
    fileParallelism: true,
    maxWorkers: 2, // CI machines have 2 cores
  },
});

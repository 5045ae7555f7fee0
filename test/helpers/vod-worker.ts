// A worker-only process (ROLE=worker), configured by its environment exactly
// like the service: the crash tests start it with `node --import tsx`
// (worker-process.ts), SIGKILL it in the middle of a job and start another.
import { loadConfig } from '../../src/config.js';
import { startService } from '../../src/service.js';

const service = await startService(loadConfig({ ...process.env, ROLE: 'worker' }));
process.stdout.write('worker ready\n');
process.on('SIGTERM', () => {
  void service.close().then(() => process.exit(0));
});

// What happens once a clip is ready (MP4 prebuild, VOD promotion). One
// registry per service, made and filled where the service is built
// (src/service.ts), handed around in the context: nothing registers itself
// on import, and two services in one process (tests) never share hooks.
import type { Context } from '../context.js';
import type { Queues } from '../jobs/queues.js';
import type { ClipRecord } from './records.js';

export type ReadyHook = (ctx: Context, queues: Queues, clip: ClipRecord) => Promise<void>;

export class ReadyHooks {
  private readonly hooks: ReadyHook[] = [];

  add(hook: ReadyHook): void {
    this.hooks.push(hook);
  }

  async run(ctx: Context, queues: Queues, clip: ClipRecord): Promise<void> {
    for (const hook of this.hooks) await hook(ctx, queues, clip);
  }
}

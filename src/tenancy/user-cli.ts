// `user create` and `user delete` of the admin CLI (registered in cli-extra.ts).
import type { CliCommand } from '../cli-extra.js';
import { NUMERIC_ID } from '../ids.js';
import { deleteUser, createUser, UserError } from './users.js';

export const userCliCommands: Record<string, CliCommand> = {
  async 'user create'(ctx, values, usage) {
    const clientId = values['client-id'];
    if (typeof clientId !== 'string' || !NUMERIC_ID.test(clientId)) throw usage('--client-id must be a positive integer');
    if (typeof values.username !== 'string') throw usage('--username is required');
    if (typeof values.password !== 'string') throw usage('--password is required');
    try {
      const user = await createUser(ctx, Number(clientId), values.username, values.password);
      return { user_id: user.id };
    } catch (err) {
      throw err instanceof UserError ? usage(err.message) : err;
    }
  },

  async 'user delete'(ctx, values, usage) {
    const userId = values['user-id'];
    if (typeof userId !== 'string') throw usage('--user-id is required');
    if (!(await deleteUser(ctx, userId))) throw usage(`user ${userId} does not exist`);
    return { user_id: userId, deleted: true };
  },
};

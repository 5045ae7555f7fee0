// CLI commands of later features register here (users, see tenancy/users.ts).
import type { Context } from './context.js';
import { userCliCommands } from './tenancy/user-cli.js';

export type CliValues = Record<string, string | boolean | undefined>;
export type CliCommand = (ctx: Context, values: CliValues, usage: (message: string) => Error) => Promise<unknown>;

export const cliCommands: Record<string, CliCommand> = { ...userCliCommands };

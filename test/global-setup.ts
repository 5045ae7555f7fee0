// Runs once before any test file, whatever started vitest (`npm test`, or
// `npx vitest run some.test.ts` in a new checkout): the fixtures are made
// here, not by the first test files that need them, which run in parallel
// workers and would each start making the same files at once.
import { ensureFixtures } from '../fixtures/make.js';

export default async function setup(): Promise<void> {
  await ensureFixtures();
}

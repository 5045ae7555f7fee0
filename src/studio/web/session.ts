// Signing in with an API key (kept for this tab only) and out again, and
// every API call's failure: a refused key signs out, any other API error is
// shown in the API's own words.
import { Api, ApiError } from './api.js';
import { refreshClips } from './clip-list.js';
import { notify } from './notice.js';
import { $, clipPlayer, page, player } from './state.js';
import { fillStreams, refreshStoryboard, refreshStream, refreshStreams, selectStream } from './streams.js';

const KEY = 'studio.apiKey';
const STREAM = 'studio.streamId';

function showFailure(err: unknown): void {
  if (err instanceof ApiError && err.status === 401) {
    signOut('The API key was refused: it is wrong or has been revoked. Enter a valid key.');
  } else if (err instanceof ApiError) {
    notify(err.message);
  } else {
    notify(`The service cannot be reached (${(err as Error).message}).`);
  }
}

/** Runs an API call; undefined when it failed (and the failure is shown). */
export async function attempt<T>(call: () => Promise<T>): Promise<T | undefined> {
  try {
    return await call();
  } catch (err) {
    showFailure(err);
    return undefined;
  }
}

export function rememberStream(id: number): void {
  sessionStorage.setItem(STREAM, String(id));
}

export function signOut(message?: string): void {
  sessionStorage.removeItem(KEY);
  page.api = null;
  page.polls.forEach((p) => window.clearInterval(p));
  page.polls = [];
  player.stop();
  clipPlayer.stop();
  $('main').hidden = true;
  $('sign-out').hidden = true;
  document.querySelector<HTMLElement>('.stream-pick')!.hidden = true;
  $('stream-state').hidden = true;
  $('sign-in').hidden = false;
  if (message) notify(message);
  else $('notice').hidden = true;
  $<HTMLInputElement>('api-key').focus();
}

export async function signIn(key: string): Promise<void> {
  const candidate = new Api(key);
  try {
    page.streams = await candidate.streams();
  } catch (err) {
    showFailure(err);
    return;
  }
  page.api = candidate;
  sessionStorage.setItem(KEY, key);
  $('sign-in').hidden = true;
  $('notice').hidden = true;
  $('main').hidden = false;
  $('sign-out').hidden = false;
  document.querySelector<HTMLElement>('.stream-pick')!.hidden = false;
  fillStreams();
  const remembered = Number(sessionStorage.getItem(STREAM));
  const first = page.streams.find((s) => s.id === remembered) ?? page.streams[0];
  if (first) selectStream(first.id);
  else notify('Your company has no stream yet: create one with POST /streaming/streams.', 'info');
  page.polls = [
    window.setInterval(() => void refreshStream(), 2000),
    window.setInterval(() => void refreshStoryboard(), 4000),
    window.setInterval(() => void refreshClips(), 2000),
    window.setInterval(() => void refreshStreams(), 10000),
  ];
}

export function wireSession(): void {
  $('sign-in-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const key = $<HTMLInputElement>('api-key').value.trim();
    if (key) void signIn(key);
  });
  $('sign-out').addEventListener('click', () => signOut());
}

/** Signs in again with the key this tab kept, if any; else asks for one. */
export function resumeSession(): void {
  const saved = sessionStorage.getItem(KEY);
  if (saved) void signIn(saved);
  else signOut();
}

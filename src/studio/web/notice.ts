// The page's one message box: errors stay until the next message, notes
// ('info') go away by themselves.
import { $ } from './state.js';

let noticeTimer = 0;

export function notify(message: string, kind: 'error' | 'info' = 'error'): void {
  const box = $('notice');
  box.textContent = message;
  box.className = `notice ${kind}`;
  box.hidden = false;
  window.clearTimeout(noticeTimer);
  if (kind === 'info') noticeTimer = window.setTimeout(() => (box.hidden = true), 6000);
}

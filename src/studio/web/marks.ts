// In and Out on the timeline: set at the playing (or scrubbed) position by
// button or by the keys I and O, nudged chunk by chunk, shown with what is
// wrong with the selection, if anything.
import { clockTime, duration } from './format.js';
import { nudge, selectionProblem } from './selection.js';
import { $, page, player, timeline, windowOf } from './state.js';

export function renderSelection(): void {
  const { sel } = page;
  timeline.setSelection(sel);
  $('in-time').textContent = sel.in === null ? '–' : clockTime(sel.in);
  $('out-time').textContent = sel.out === null ? '–' : clockTime(sel.out);
  const problem = sel.in !== null && sel.out !== null ? selectionProblem(sel, windowOf(page.current)) : null;
  $('sel-info').textContent = problem ?? (sel.in !== null && sel.out !== null ? `Selection: ${duration((sel.out - sel.in) / 1000)}` : '');
}

function position(): number | null {
  return page.scrubbedTo ?? player.wallTime() ?? windowOf(page.current)?.end ?? null;
}

function setMark(which: 'in' | 'out', t: number | null = position()): void {
  if (t === null) return;
  page.sel = { ...page.sel, [which]: t };
  renderSelection();
}

function nudgeMark(which: 'in' | 'out', direction: 1 | -1): void {
  const t = page.sel[which] ?? position();
  if (t !== null) setMark(which, nudge(t, direction, timeline.boundaries()));
}

export function wireMarks(): void {
  $('set-in').addEventListener('click', () => setMark('in'));
  $('set-out').addEventListener('click', () => setMark('out'));
  $('in-back').addEventListener('click', () => nudgeMark('in', -1));
  $('in-fwd').addEventListener('click', () => nudgeMark('in', 1));
  $('out-back').addEventListener('click', () => nudgeMark('out', -1));
  $('out-fwd').addEventListener('click', () => nudgeMark('out', 1));
  document.addEventListener('keydown', (e) => {
    const target = e.target as HTMLElement;
    if (e.ctrlKey || e.metaKey || e.altKey || /^(INPUT|SELECT|TEXTAREA)$/.test(target.tagName) || $('main').hidden) return;
    if (e.key === 'i' || e.key === 'I') setMark('in');
    else if (e.key === 'o' || e.key === 'O') setMark('out');
    else return;
    e.preventDefault();
  });
}

// Times as people read them on a timeline.

const pad = (n: number) => String(n).padStart(2, '0');

/** Local wall-clock time, HH:MM:SS. */
export function clockTime(ms: number): string {
  const d = new Date(ms);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** 75 -> "1:15", 3700 -> "1:01:40" */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor(s / 60) % 60;
  return h > 0 ? `${h}:${pad(m)}:${pad(s % 60)}` : `${m}:${pad(s % 60)}`;
}

/** A tick step (ms) that puts ticks at least `minGapPx` apart on `widthPx` showing `spanMs`. */
export function tickStep(spanMs: number, widthPx: number, minGapPx = 80): number {
  const steps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200].map((s) => s * 1000);
  const perPx = spanMs / Math.max(1, widthPx);
  return steps.find((s) => s / perPx >= minGapPx) ?? steps[steps.length - 1];
}

/** Tick times (ms) on whole multiples of `step` inside [from, to]. */
export function ticks(from: number, to: number, step: number): number[] {
  const out: number[] = [];
  for (let t = Math.ceil(from / step) * step; t <= to && out.length < 500; t += step) out.push(t);
  return out;
}

// The clip request rules (SPEC 5), as a pure function of request, stream and clock.
import { describe, expect, it } from 'vitest';
import {
  ClipRuleError, DEFAULT_EXPIRATION_S, MAX_EXPIRATION_S, MIN_EXPIRATION_S, resolveClipWindow, type ClipRequest,
} from '../../src/clips/rules.js';

const NOW_S = 1_700_000_000;
const NOW_MS = NOW_S * 1000 + 750; // mid-second: "now" is the whole second it falls in
const DVR = 3600;

function refused(req: Partial<ClipRequest>, dvr = DVR): string {
  try {
    resolveClipWindow(req as ClipRequest, dvr, NOW_MS);
  } catch (err) {
    expect(err).toBeInstanceOf(ClipRuleError);
    return (err as Error).message;
  }
  throw new Error(`accepted ${JSON.stringify(req)}`);
}

describe('resolveClipWindow', () => {
  it('fills the defaults: start now, expiration start + duration + 3600, no VOD', () => {
    expect(resolveClipWindow({ duration: 30 }, DVR, NOW_MS)).toEqual({
      duration: 30, start: NOW_S, expiration: NOW_S + 30 + DEFAULT_EXPIRATION_S, vod_required: false, precise: false,
    });
    expect(DEFAULT_EXPIRATION_S).toBe(3600);
  });

  it('keeps what the request gives', () => {
    const req = { duration: 10, start: NOW_S - 100, expiration: NOW_S + 500, vod_required: true, precise: true };
    expect(resolveClipWindow(req, DVR, NOW_MS)).toEqual(req);
  });

  it('requires a positive whole number of seconds as duration', () => {
    for (const duration of [undefined, 0, -5, 1.5, Number.NaN, '30' as unknown as number]) {
      expect(refused({ duration })).toMatch(/^duration must be a positive integer/);
    }
  });

  it('accepts a duration of 1 up to the dvr_duration, and names both above it', () => {
    expect(resolveClipWindow({ duration: 1 }, DVR, NOW_MS).duration).toBe(1);
    expect(resolveClipWindow({ duration: DVR, start: NOW_S - DVR }, DVR, NOW_MS).duration).toBe(DVR);
    const message = refused({ duration: 61 }, 60);
    expect(message).toMatch(/duration 61/);
    expect(message).toMatch(/dvr_duration 60/);
  });

  it('requires start to be a non-negative whole unix second', () => {
    expect(refused({ duration: 5, start: -1 })).toMatch(/^start must be a unix timestamp/);
    expect(refused({ duration: 5, start: NOW_S + 0.5 })).toMatch(/^start must be a unix timestamp/);
  });

  it('schedules at most dvr_duration ahead', () => {
    expect(resolveClipWindow({ duration: 5, start: NOW_S + DVR }, DVR, NOW_MS).start).toBe(NOW_S + DVR);
    const message = refused({ duration: 5, start: NOW_S + DVR + 1 });
    expect(message).toMatch(/^start is 3601 s ahead/);
    expect(message).toMatch(/dvr_duration \(3600 s\)/);
  });

  it('requires expiration to be a whole unix second', () => {
    expect(refused({ duration: 5, expiration: NOW_S + 100.5 })).toMatch(/^expiration must be a unix timestamp/);
  });

  it('keeps expiration between start + duration + 60 and + 4 h, bounds included', () => {
    const start = NOW_S - 20;
    const end = start + 10;
    expect(MIN_EXPIRATION_S).toBe(60);
    expect(MAX_EXPIRATION_S).toBe(14400);
    expect(resolveClipWindow({ duration: 10, start, expiration: end + 60 }, DVR, NOW_MS).expiration).toBe(end + 60);
    expect(resolveClipWindow({ duration: 10, start, expiration: end + 14400 }, DVR, NOW_MS).expiration).toBe(end + 14400);
    for (const expiration of [end + 59, end + 14401]) {
      const message = refused({ duration: 10, start, expiration });
      expect(message).toMatch(/^expiration must lie between start \+ duration \+ 60/);
      expect(message).toContain(`(${end + 60})`);
      expect(message).toContain(`(${end + 14400})`);
    }
  });

  it('refuses a clip that would be expired when made', () => {
    // Default expiration of a clip cut 2 h back: start + duration + 3600 is past.
    expect(refused({ duration: 10, start: NOW_S - 7200 }, 14400)).toMatch(/^expiration \d+ .*already past/);
    // The smallest allowed expiration landing exactly on now is past too.
    expect(refused({ duration: 1, start: NOW_S - 61, expiration: NOW_S })).toMatch(/already past/);
    expect(resolveClipWindow({ duration: 1, start: NOW_S - 60, expiration: NOW_S + 1 }, DVR, NOW_MS).expiration).toBe(NOW_S + 1);
  });
});

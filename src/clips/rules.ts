// The validation rules of a clip request, as a pure function of the request,
// the stream and the clock. Messages name the field, for the 400 body.
export interface ClipRequest {
  duration: number;
  start?: number;
  expiration?: number;
  vod_required?: boolean;
  precise?: boolean;
}

export interface ClipWindow {
  duration: number;
  /** unix seconds */
  start: number;
  /** unix seconds */
  expiration: number;
  vod_required: boolean;
  precise: boolean;
}

export const MIN_EXPIRATION_S = 60;
export const MAX_EXPIRATION_S = 4 * 3600;
export const DEFAULT_EXPIRATION_S = 3600;

export class ClipRuleError extends Error {}

export function resolveClipWindow(req: ClipRequest, dvrDuration: number, nowMs: number): ClipWindow {
  const now = Math.floor(nowMs / 1000);
  const { duration } = req;
  if (!Number.isInteger(duration) || duration < 1) throw new ClipRuleError('duration must be a positive integer number of seconds');
  if (duration > dvrDuration) {
    throw new ClipRuleError(`duration ${duration} is longer than the stream's dvr_duration ${dvrDuration}; raise dvr_duration or ask for less`);
  }
  const start = req.start ?? now;
  if (!Number.isInteger(start) || start < 0) throw new ClipRuleError('start must be a unix timestamp in whole seconds');
  if (start > now + dvrDuration) {
    throw new ClipRuleError(`start is ${start - now} s ahead; a clip can be scheduled at most dvr_duration (${dvrDuration} s) ahead`);
  }
  const end = start + duration;
  const expiration = req.expiration ?? end + DEFAULT_EXPIRATION_S;
  if (!Number.isInteger(expiration)) throw new ClipRuleError('expiration must be a unix timestamp in whole seconds');
  if (expiration < end + MIN_EXPIRATION_S || expiration > end + MAX_EXPIRATION_S) {
    throw new ClipRuleError(
      `expiration must lie between start + duration + ${MIN_EXPIRATION_S} (${end + MIN_EXPIRATION_S}) and start + duration + ${MAX_EXPIRATION_S} (${end + MAX_EXPIRATION_S})`,
    );
  }
  // A clip that is expired at birth would be deleted by Redis before it is read back.
  if (expiration * 1000 <= nowMs) {
    throw new ClipRuleError(
      `expiration ${expiration} (start + duration + ${DEFAULT_EXPIRATION_S} when omitted) is already past; give one in the future, up to ${end + MAX_EXPIRATION_S}`,
    );
  }
  return { duration, start, expiration, vod_required: req.vod_required ?? false, precise: req.precise ?? false };
}

// The shapes of the ids that come in URLs, in one place: a RegExp for code,
// the same pattern as a string for TypeBox schemas, and the bare fragment for
// patterns that hold an id (a file name, `{client}_{stream}`).

/** Unanchored fragments, to build larger patterns from. */
export const idFragment = {
  /** A clip id: the secret of its playback URLs. */
  clip: '[a-z0-9]{16}',
  /** A company, stream or video id: a positive integer, no leading zero. */
  numeric: '[1-9][0-9]{0,15}',
  /** A rendition: media_{index}_{height}. */
  rendition: 'media_[0-9]{1,3}_[0-9]{1,5}',
};

export const CLIP_ID_PATTERN = `^${idFragment.clip}$`;
export const NUMERIC_ID_PATTERN = `^${idFragment.numeric}$`;

export const CLIP_ID = new RegExp(CLIP_ID_PATTERN);
export const NUMERIC_ID = new RegExp(NUMERIC_ID_PATTERN);
export const RENDITION_NAME = new RegExp(`^${idFragment.rendition}$`);

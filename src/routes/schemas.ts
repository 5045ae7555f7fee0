// Schemas shared by routes and the OpenAPI document.
import { Type, type Static } from '@sinclair/typebox';
import { TRANSCODES, type StreamInput } from '../dvr/streams.js';
import { CLIP_ID_PATTERN, NUMERIC_ID_PATTERN } from '../ids.js';
import { HTTP_URLS, NO_CONTROL_CHARACTERS } from './validation-messages.js';

export const ErrorBody = Type.Object(
  { statusCode: Type.Integer(), error: Type.String(), message: Type.String() },
  { $id: 'Error' },
);

export const StreamIdParams = Type.Object({ stream_id: Type.String({ pattern: NUMERIC_ID_PATTERN }) });
export const ClipParams = Type.Object({
  stream_id: Type.String({ pattern: NUMERIC_ID_PATTERN }),
  clip_id: Type.String({ pattern: CLIP_ID_PATTERN }),
});

export const DvrDuration = Type.Integer({ minimum: 30, maximum: 14400, description: 'DVR window in seconds' });

const Transcode = Type.Unsafe<StreamInput['transcode']>({
  type: 'string', enum: [...TRANSCODES], description: 'source: the renditions as pushed; abr: a ladder made from the source',
});

// Gcore's other stream fields are refused by name (validation-messages.ts).
export const StreamCreate = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200, pattern: NO_CONTROL_CHARACTERS }),
    dvr_enabled: Type.Optional(Type.Boolean()),
    dvr_duration: Type.Optional(DvrDuration),
    active: Type.Optional(Type.Boolean({ description: 'false refuses every ingest of the stream' })),
    pull: Type.Optional(Type.Boolean({ description: 'pull from uri instead of being pushed to' })),
    uri: Type.Optional(Type.String({
      maxLength: 4000, pattern: HTTP_URLS, description: 'for pull: one or more http(s) URLs separated by spaces, tried in turn',
    })),
    transcode: Type.Optional(Transcode),
  },
  { additionalProperties: false },
);
export const StreamPatch = Type.Partial(StreamCreate, { additionalProperties: false, minProperties: 1 });

const Rendition = Type.Object({
  name: Type.String(),
  width: Type.Optional(Type.Integer()),
  height: Type.Optional(Type.Integer()),
  frameRate: Type.Optional(Type.Number()),
  codecs: Type.Optional(Type.String()),
  bandwidth: Type.Integer(),
  keyframeAligned: Type.Optional(Type.Boolean()),
});

export const Stream = Type.Object({
  id: Type.Integer(),
  client_id: Type.Integer(),
  name: Type.String(),
  dvr_enabled: Type.Boolean(),
  dvr_duration: Type.Integer(),
  active: Type.Boolean(),
  pull: Type.Boolean(),
  uri: Type.String(),
  transcode: Type.String(),
  push_url: Type.String({ description: 'RTMP: rtmp://host:port/in/{stream_key} (OBS: server rtmp://host:port/in, key {stream_key})' }),
  push_url_srt: Type.String({ description: 'SRT: srt://host:port?streamid={stream_key}' }),
  push_url_rtmps: Type.Union([Type.String(), Type.Null()], {
    description: 'RTMPS: rtmps://host:port/in/{stream_key} where the service has a certificate (RTMPS_CERT_FILE), else null',
  }),
  push_url_hls: Type.String({ description: 'HLS over HTTP PUT: {PUBLIC_BASE_URL}/ingest/{stream_key}/' }),
  live: Type.Boolean(),
  stream_source_type: Type.Union([Type.Literal('rtmp'), Type.Literal('srt'), Type.Literal('https'), Type.Literal('pull'), Type.Null()]),
  ingest_error: Type.Union([Type.String(), Type.Null()]),
  pull_error: Type.Union([Type.String(), Type.Null()]),
  hls_url: Type.String(),
  renditions: Type.Array(Rendition),
  dvr_range: Type.Union([Type.Object({ start: Type.Integer(), end: Type.Integer() }), Type.Null()]),
  screenshot: Type.Union([Type.String(), Type.Null()], { description: 'the newest thumbnail of the live window (JPEG), null until one is made' }),
  created_at: Type.String(),
});

export const ClipCreate = Type.Object(
  {
    duration: Type.Integer({ minimum: 1, description: 'seconds to cut, 1 to the stream dvr_duration' }),
    start: Type.Optional(Type.Integer({ minimum: 0, description: 'unix seconds; omitted: now' })),
    expiration: Type.Optional(Type.Integer({ minimum: 0, description: 'unix seconds; omitted: start + duration + 3600' })),
    vod_required: Type.Optional(Type.Boolean()),
    precise: Type.Optional(Type.Boolean({ description: 'cut to the frame: the edge GOPs are re-encoded in the background (SPEC 14)' })),
  },
  { additionalProperties: false },
);
export type ClipCreateBody = Static<typeof ClipCreate>;

export const Clip = Type.Object({
  id: Type.String(),
  stream_id: Type.Integer(),
  duration: Type.Integer(),
  start: Type.Integer(),
  expiration: Type.Integer(),
  created_at: Type.String(),
  vod_required: Type.Boolean(),
  video_id: Type.Union([Type.Integer(), Type.Null()]),
  renditions: Type.Array(Type.String()),
  hls_master: Type.String(),
  mp4_master: Type.String(),
  status: Type.Union([Type.Literal('recording'), Type.Literal('ready'), Type.Literal('failed')]),
  precise: Type.Boolean(),
  accuracy: Type.Union([Type.Literal('keyframe'), Type.Literal('frame')]),
  cut_start: Type.Union([Type.Integer(), Type.Null()], { description: 'unix ms of the first frame, once precise' }),
  cut_end: Type.Union([Type.Integer(), Type.Null()], { description: 'unix ms of the end of the last frame, once precise' }),
  real_duration: Type.Union([Type.Number(), Type.Null()], { description: 'cut_end - cut_start in seconds' }),
  precise_error: Type.Union([Type.String(), Type.Null()], { description: 'why the clip is (still) keyframe-aligned' }),
});

export const errorResponses = {
  400: ErrorBody,
  401: ErrorBody,
  404: ErrorBody,
};

export const VideoIdParams = Type.Object({ video_id: Type.String({ pattern: NUMERIC_ID_PATTERN }) });
// Query values are strings (types are never coerced), hence the patterns.
const Page = Type.String({ pattern: '^[1-9][0-9]{0,5}$', description: 'counts from 1' });
const PerPage = Type.String({ pattern: '^[1-9][0-9]{0,2}$|^1000$', description: '1-1000, default 100' });
export const PageQuery = Type.Object(
  {
    page: Type.Optional(Page),
    per_page: Type.Optional(PerPage),
    // gcore-python's streams.list(with_broadcasts=…): this server has no broadcasts to add.
    with_broadcasts: Type.Optional(Type.String({ pattern: '^[01]$' })),
  },
  { additionalProperties: false },
);
export const VideoListQuery = Type.Object(
  {
    page: Type.Optional(Page),
    per_page: Type.Optional(PerPage),
    stream_id: Type.Optional(Type.String({ pattern: NUMERIC_ID_PATTERN, description: 'only the videos recorded from this stream' })),
  },
  { additionalProperties: false },
);

const RenditionVideo = Type.Object({
  id: Type.String({ description: '"vid-" and 24 random characters; the id the segment API takes' }),
  rendition: Type.String(),
  height: Type.Integer(),
  width: Type.Integer(),
  bandwidth: Type.Integer({ description: 'peak chunk bitrate, bits/s' }),
  segments: Type.Integer(),
});

export const Video = Type.Object({
  id: Type.Integer(),
  name: Type.String(),
  status: Type.Union([Type.Literal('pending'), Type.Literal('ready'), Type.Literal('error')], { description: "Gcore's values; progress tells how far a pending one is" }),
  progress: Type.Integer({ minimum: 0, maximum: 100 }),
  duration: Type.Integer({ description: 'milliseconds' }),
  stream_id: Type.Integer(),
  client_id: Type.Integer(),
  clip_id: Type.String(),
  created_at: Type.String(),
  hls_url: Type.String({ description: 'public VOD master playlist; answers 404 until the video is ready' }),
  videos: Type.Array(RenditionVideo),
  error: Type.Optional(Type.String({ description: 'why the video ended in error' })),
});

// The key schema. Every key of one stream carries the hash tag {s<id>} so
// that a Redis Cluster keeps all of them in one slot and the Lua scripts that
// touch several of them stay legal there. Global keys have no tag and are only
// ever touched one at a time.

export interface Keys {
  prefix: string;
  /** BullMQ prefix: hash-tagged so every queue key shares one slot. */
  queuePrefix: string;
  companySeq: string;
  company(clientId: number): string;
  /** hash: sha256(api key) -> client id */
  apiKeys: string;
  companyStreams(clientId: number): string;
  streamSeq: string;
  /** hash: ingest stream key -> stream id */
  ingestKeys: string;
  stream: StreamKeys;
  /** set of stream ids the DVR cleaner visits */
  activeStreams: string;
  /** hash: normalized username -> user id */
  users: string;
  /** hash {client_id, username, password (scrypt), created_at} */
  user(userId: string): string;
  /** HS256 secret of user tokens when JWT_SECRET is unset, shared by every api process */
  jwtSecret: string;
  /** failed-login counter of one username or one client IP (fixed window); all in one slot */
  loginFailures(kind: 'user' | 'ip', id: string): string;
  videoSeq: string;
  video(videoId: number): string;
  companyVideos(clientId: number): string;
  /** zset of the company's videos recorded from one stream (by creation time), for ?stream_id= */
  streamVideos(clientId: number, streamId: number): string;
  /** string, set once a one-time data migration of that name has run */
  migrated(name: string): string;
  renditionVideos: string;
}

// The keyed Lua scripts get these names through KEYS (src/redis/script-keys.ts);
// only commit.lua and lib.lua's retention_of still build some from the tag
// (`base` there): a name changed here must change there too.
export interface StreamKeys {
  tag(streamId: number): string;
  meta(streamId: number): string;
  /** hash: encoder playlist name -> rendition JSON (probe results, bandwidth) */
  renditions(streamId: number): string;
  /** hash: encoder playlist name -> what the pushed master playlist declared (bandwidth, codecs, size, frame rate) JSON */
  declared(streamId: number): string;
  /** hash: "{playlist}:bytes" and "{playlist}:ms" -> totals of the committed chunks (measured bandwidth) */
  renditionStats(streamId: number): string;
  /** hash: encoder playlist name -> chunks committed; its fields name every rendition whose archive the cleaner sweeps */
  renditionSeq(streamId: number): string;
  /** hash: encoder playlist name -> ingest state JSON (last sequence, epoch) */
  playlists(streamId: number): string;
  /** hash: chunk uri -> chunk id of an uploaded chunk no playlist has listed yet */
  uploaded(streamId: number): string;
  /** hash: chunk uri -> listing JSON of a chunk listed before its upload finished */
  listed(streamId: number): string;
  chunkSeq(streamId: number): string;
  /** hash: encoder playlist name -> {epoch, seq, finish} of its last chunk, to place the next one in time */
  playlistTime(streamId: number): string;
  /** hash {b: bytes}; its TTL is the window, or the clips that need it once archived */
  chunk(streamId: number, chunkId: string): string;
  /** string: an fMP4 init segment's bytes, by content hash; its TTL outlasts every chunk committed with it */
  init(streamId: number, initId: string): string;
  /** hash: EXT-X-MAP uri -> init id of the bytes last uploaded under that name */
  initUris(streamId: number): string;
  /** zset per rendition: score chunk start ms, member "id|durMs|size|discSeq|disc|n" */
  index(streamId: number, playlist: string): string;
  /** the same, for chunks out of the window that clips still need */
  archive(streamId: number, playlist: string): string;
  /** the index of a dropped DVR, retired a batch at a time (sweep_retention.lua) */
  drain(streamId: number, playlist: string): string;
  /** hash "epoch:seq" -> "startMs|discSeq" of a chunk, shared by the renditions of one encoder (commit.lua) */
  slots(streamId: number): string;
  /** zset "epoch:seq" -> when its slot was set, so old slots are forgotten */
  slotTimes(streamId: number): string;
  /** zset per rendition: uri by listing number, of listings waiting to enter the index (commit.lua) */
  waiting(streamId: number, playlist: string): string;
  /** zset per rendition: uri by media sequence of recent chunks of the current epoch, and of the epoch before */
  seen(streamId: number, playlist: string): string;
  seenBefore(streamId: number, playlist: string): string;
  /** zset clip id -> expiration ms */
  clips(streamId: number): string;
  /** zset clip id -> window end ms, for clips still taking chunks */
  recording(streamId: number): string;
  /** zsets clip id -> start / end (ms) of the span a held clip covers (docs/retention.md) */
  clipStarts(streamId: number): string;
  clipEnds(streamId: number): string;
  /** zset clip id -> until when (ms) the clip keeps its record and chunks: expiration, or a VOD hold past it */
  held(streamId: number): string;
  /** zset of archived ranges "pl|from|to|clipId" a released clip covered, still to look at again */
  recheck(streamId: number): string;
  /** set of chunk ids no longer needed; their bytes are unlinked outside Lua */
  dead(streamId: number): string;
  /** the stream's event outbox (a Redis stream; src/events/keys.ts streamOutbox names the same key) */
  outbox(streamId: number): string;
  clip(streamId: number, clipId: string): string;
  /** the build lock of a clip rendition's MP4 (BuildLock adds ":failed" to it) */
  mp4Lock(streamId: number, clipId: string, rendition: string): string;
}

export function makeKeys(prefix: string): Keys {
  const p = prefix;
  const t = (id: number) => `${p}:{s${id}}`;
  return {
    prefix: p,
    queuePrefix: `{${p}q}`,
    companySeq: `${p}:seq:company`,
    company: (cid) => `${p}:company:${cid}`,
    apiKeys: `${p}:apikeys`,
    companyStreams: (cid) => `${p}:company:${cid}:streams`,
    streamSeq: `${p}:seq:stream`,
    ingestKeys: `${p}:ingestkeys`,
    activeStreams: `${p}:streams:active`,
    users: `${p}:users`,
    user: (uid) => `${p}:user:${uid}`,
    jwtSecret: `${p}:secret:jwt`,
    loginFailures: (kind, id) => `${p}:{login}:${kind}:${id}`,
    videoSeq: `${p}:seq:video`,
    video: (vid) => `${p}:video:${vid}`,
    companyVideos: (cid) => `${p}:company:${cid}:videos`,
    streamVideos: (cid, sid) => `${p}:company:${cid}:stream:${sid}:videos`,
    migrated: (name) => `${p}:migrated:${name}`,
    renditionVideos: `${p}:renditionvideos`,
    stream: {
      tag: t,
      meta: (s) => `${t(s)}:meta`,
      renditions: (s) => `${t(s)}:renditions`,
      declared: (s) => `${t(s)}:declared`,
      renditionStats: (s) => `${t(s)}:rstat`,
      renditionSeq: (s) => `${t(s)}:rseq`,
      playlists: (s) => `${t(s)}:playlists`,
      uploaded: (s) => `${t(s)}:uploaded`,
      listed: (s) => `${t(s)}:listed`,
      chunkSeq: (s) => `${t(s)}:chunkseq`,
      playlistTime: (s) => `${t(s)}:pltime`,
      chunk: (s, c) => `${t(s)}:c:${c}`,
      init: (s, m) => `${t(s)}:init:${m}`,
      initUris: (s) => `${t(s)}:inits`,
      index: (s, pl) => `${t(s)}:i:${pl}`,
      archive: (s, pl) => `${t(s)}:a:${pl}`,
      drain: (s, pl) => `${t(s)}:dr:${pl}`,
      slots: (s) => `${t(s)}:slots`,
      slotTimes: (s) => `${t(s)}:slott`,
      waiting: (s, pl) => `${t(s)}:w:${pl}`,
      seen: (s, pl) => `${t(s)}:seen:${pl}`,
      seenBefore: (s, pl) => `${t(s)}:seenp:${pl}`,
      clips: (s) => `${t(s)}:clips`,
      recording: (s) => `${t(s)}:recording`,
      clipStarts: (s) => `${t(s)}:cws`,
      clipEnds: (s) => `${t(s)}:cwe`,
      held: (s) => `${t(s)}:held`,
      recheck: (s) => `${t(s)}:recheck`,
      dead: (s) => `${t(s)}:dead`,
      outbox: (s) => `${t(s)}:outbox`,
      clip: (s, k) => `${t(s)}:k:${k}`,
      mp4Lock: (s, k, r) => `${t(s)}:mp4lock:${k}:${r}`,
    },
  };
}

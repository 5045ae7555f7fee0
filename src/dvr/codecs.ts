// RFC 6381 codec strings (the CODECS attribute of an HLS master playlist),
// derived from what ffprobe reports about a stream. Pure, so it is unit-tested
// without media.

/** The ffprobe stream fields this needs (`-show_streams`, JSON). */
export interface ProbedStream {
  codec_type?: string;
  codec_name?: string;
  profile?: string;
  /** H.264: level_idc (31 = 3.1). HEVC: general_level_idc (93 = 3.1). */
  level?: number;
}

// profile_idc and the constraint-flags byte, as x264 writes them in the SPS
// and ffmpeg's HLS muxer copies them into CODECS: Constrained Baseline is
// 42c0 (constraint_set0+1), Main 4d40 (constraint_set1).
const AVC_PROFILES: Record<string, [number, number]> = {
  'Baseline': [0x42, 0x00],
  'Constrained Baseline': [0x42, 0xc0],
  'Main': [0x4d, 0x40],
  'Extended': [0x58, 0x00],
  'High': [0x64, 0x00],
  'Constrained High': [0x64, 0x0c],
  'Progressive High': [0x64, 0x08],
  'High 10': [0x6e, 0x00],
  'High 10 Intra': [0x6e, 0x10],
  'High 4:2:2': [0x7a, 0x00],
  'High 4:2:2 Intra': [0x7a, 0x10],
  'High 4:4:4 Predictive': [0xf4, 0x00],
  'High 4:4:4 Intra': [0xf4, 0x10],
  'CAVLC 4:4:4': [0x2c, 0x10],
};

// mp4a.40.<audio object type>
const AAC_OBJECT_TYPES: Record<string, number> = {
  'Main': 1,
  'LC': 2,
  'SSR': 3,
  'LTP': 4,
  'HE-AAC': 5,
  'HE-AACv2': 29,
};

const hex2 = (n: number) => n.toString(16).padStart(2, '0');

function avc(stream: ProbedStream): string {
  const [profileIdc, constraints] = AVC_PROFILES[stream.profile ?? ''] ?? AVC_PROFILES.High;
  // ffprobe reports an unknown level as -99; 4.0 (0x28) covers 1080p30.
  const level = stream.level !== undefined && stream.level > 0 ? stream.level : 40;
  return `avc1.${hex2(profileIdc)}${hex2(constraints)}${hex2(level)}`;
}

function hevc(stream: ProbedStream): string {
  // Approximate: main tier, and the usual compatibility flags of each profile.
  const main10 = stream.profile === 'Main 10';
  const level = stream.level !== undefined && stream.level > 0 ? stream.level : 120;
  return main10 ? `hvc1.2.4.L${level}.B0` : `hvc1.1.6.L${level}.B0`;
}

/** The RFC 6381 string of one stream, or undefined for a codec HLS cannot name. */
export function rfc6381(stream: ProbedStream): string | undefined {
  switch (stream.codec_name) {
    case 'h264':
      return avc(stream);
    case 'hevc':
      return hevc(stream);
    case 'aac':
      return `mp4a.40.${AAC_OBJECT_TYPES[stream.profile ?? ''] ?? 2}`;
    case 'mp3':
      return 'mp4a.40.34';
    case 'ac3':
      return 'ac-3';
    case 'eac3':
      return 'ec-3';
    case 'opus':
      return 'Opus';
    default:
      return undefined;
  }
}

/** The CODECS list for a set of streams: video first, then audio, no duplicates. */
export function codecsList(streams: ProbedStream[]): string {
  const ordered = [
    ...streams.filter((s) => s.codec_type === 'video'),
    ...streams.filter((s) => s.codec_type === 'audio'),
  ];
  const names = ordered.map(rfc6381).filter((c): c is string => c !== undefined);
  return [...new Set(names)].join(',');
}

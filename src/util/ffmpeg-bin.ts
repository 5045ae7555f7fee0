// The ffmpeg every part of the service runs (remux, thumbnails, packagers,
// precise edges): FFMPEG_PATH if set, read at each run so an operator or a
// test can point it at another build, else the one on PATH.
export const ffmpegBin = (): string => process.env.FFMPEG_PATH || 'ffmpeg';

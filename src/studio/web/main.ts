// The clip studio: sign in with an API key, pick a stream, watch its DVR
// window over a thumbnail timeline, mark In and Out, clip, and manage clips.
// Everything goes through the public API, as a script would. Each concern
// wires its own controls: the session (session.ts), the stream (streams.ts),
// In and Out (marks.ts), the players (playback.ts), the clips (clip-list.ts).
import { wireClipList } from './clip-list.js';
import { wireMarks } from './marks.js';
import { wirePlayback } from './playback.js';
import { resumeSession, wireSession } from './session.js';
import { wireStreams } from './streams.js';

wireSession();
wireStreams();
wireMarks();
wirePlayback();
wireClipList();
resumeSession();

import { describe, expect, it } from 'vitest';
import { nameRenditions, type RenditionFacts } from '../../src/dvr/renditions.js';

describe('nameRenditions', () => {
  it('names media_{n}_{height} with n counting from 1 by rising declared bandwidth', () => {
    const facts = new Map<string, RenditionFacts>([
      ['stream_2', { height: 720, width: 1280, declaredBandwidth: 1_390_400, codecs: 'avc1.42c01f,mp4a.40.2', frameRate: 25 }],
      ['stream_0', { height: 240, width: 426, declaredBandwidth: 345_400 }],
      ['stream_1', { height: 480, width: 854, declaredBandwidth: 730_400 }],
    ]);
    // Measured rates that disagree with the declared order: declared wins.
    const measured = new Map([['stream_2', 1], ['stream_1', 3], ['stream_0', 2]]);
    const rows = nameRenditions(facts, measured);
    expect(rows.map((r) => [r.playlist, r.name, r.bandwidth])).toEqual([
      ['stream_0', 'media_1_240', 345_400],
      ['stream_1', 'media_2_480', 730_400],
      ['stream_2', 'media_3_720', 1_390_400],
    ]);
    expect(rows[2]).toMatchObject({ width: 1280, height: 720, codecs: 'avc1.42c01f,mp4a.40.2', frameRate: 25 });
  });

  it('falls back to the measured bandwidth when no master declared one', () => {
    const facts = new Map<string, RenditionFacts>([['hi', { height: 1080 }], ['lo', { height: 360 }]]);
    const rows = nameRenditions(facts, new Map([['hi', 5_000_000], ['lo', 800_000]]));
    expect(rows.map((r) => r.name)).toEqual(['media_1_360', 'media_2_1080']);
    expect(rows.map((r) => r.bandwidth)).toEqual([800_000, 5_000_000]);
  });

  it('only names playlists that delivered chunks, even when a master lists more', () => {
    const facts = new Map<string, RenditionFacts>([
      ['a', { height: 240, declaredBandwidth: 100 }],
      ['b', { height: 480, declaredBandwidth: 200 }],
    ]);
    expect(nameRenditions(facts, new Map([['b', 0]])).map((r) => r.name)).toEqual(['media_1_480']);
  });

  it('breaks bandwidth ties by height, and uses height 0 before a probe has run', () => {
    const facts = new Map<string, RenditionFacts>([['x', { height: 720 }], ['y', { height: 480 }]]);
    expect(nameRenditions(facts, new Map([['x', 10], ['y', 10]])).map((r) => r.name)).toEqual(['media_1_480', 'media_2_720']);
    expect(nameRenditions(new Map(), new Map([['z', 10]]))[0].name).toBe('media_1_0');
  });
});

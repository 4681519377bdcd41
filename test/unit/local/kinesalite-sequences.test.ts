import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { fastSequences, type SequenceFunctions, type SequenceObject } from '../../../tools/local-cloud/services/kinesalite-sequences';

// The BigInt versions of kinesalite's sequence numbers answer exactly as kinesalite's own.
const require = createRequire(import.meta.url);
const db = require('kinesalite/db') as SequenceFunctions;
// kinesalite's own functions (nothing in this file installs the fast versions), counting the
// calls the fast versions hand on to them.
const handedOn = { parse: 0, stringify: 0 };
const original: SequenceFunctions = {
  parseSequence: (seq) => {
    handedOn.parse += 1;
    return db.parseSequence(seq);
  },
  stringifySequence: (obj) => {
    handedOn.stringify += 1;
    return db.stringifySequence(obj);
  },
  incrementSequence: (obj, time) => db.incrementSequence(obj, time),
};
const fast = fastSequences(original);

/** What a call gives: its value or its error message. */
function outcome<T>(work: () => T): { value?: T; error?: string } {
  try {
    return { value: work() };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

let seed = 7;
function random(): number {
  seed = (seed * 1103515245 + 12345) % 2 ** 31;
  return seed / 2 ** 31;
}

function sequenceObjects(): SequenceObject[] {
  const objects: SequenceObject[] = [];
  for (let i = 0; i < 300; i += 1) {
    const shardCreateTime = Math.floor(1_500_000_000_000 + random() * 400_000_000_000);
    objects.push({
      shardCreateTime,
      shardIx: [0, 1, 7, 15, 16, 999, 2 ** 31 - 1][i % 7]!,
      seqIx: [0, 1, 42, Math.floor(random() * 1e9), String(Math.floor(random() * 1e15)), '9223372036854775807', undefined][i % 7],
      seqTime: i % 5 === 0 ? undefined : shardCreateTime + Math.floor(random() * 1e9),
      ...(i % 11 === 0 ? { byte1: 'ab' } : {}),
    });
  }
  return objects;
}

describe("kinesalite's sequence numbers with BigInt", () => {
  it('stringifies, parses and increments exactly as kinesalite does', () => {
    for (const obj of sequenceObjects()) {
      const seq = db.stringifySequence(obj);
      const before = { ...handedOn };
      expect(fast.stringifySequence(obj)).toBe(seq);
      expect(fast.parseSequence(seq)).toEqual(db.parseSequence(seq));
      // kinesalite's own numbers take the fast path.
      expect(handedOn).toEqual(before);
      expect(outcome(() => fast.parseSequence(seq))).toEqual(outcome(() => original.parseSequence(seq)));
      expect(outcome(() => fast.incrementSequence(seq))).toEqual(outcome(() => original.incrementSequence(seq)));
      expect(fast.incrementSequence(obj, 1_700_000_000_000)).toBe(original.incrementSequence(obj, 1_700_000_000_000));
    }
  });

  it('hands other versions, odd shapes and invalid input to kinesalite', () => {
    const inputs = [
      original.stringifySequence({ shardCreateTime: 1_600_000_000_000, shardIx: 3, seqIx: 5, version: 1, seqTime: 1_600_000_100_000 }),
      original.stringifySequence({ shardCreateTime: 1_600_000_000_000, shardIx: 3, version: 0 }),
      '0',
      '1',
      '12345678901234567890',
      '49590338271490256608559692538361571095921575989136588898',
      '9'.repeat(70),
      '-5',
      '1e40',
      'abc',
      '',
    ];
    for (const seq of inputs) {
      expect(outcome(() => fast.parseSequence(seq))).toEqual(outcome(() => original.parseSequence(seq)));
    }
    const objects: SequenceObject[] = [
      { shardCreateTime: 1_600_000_000_000, shardIx: -2, seqIx: 3 },
      { shardCreateTime: 1_600_000_000_000, shardIx: 2, seqIx: -3 },
      { shardCreateTime: 1_600_000_000_000, shardIx: 2, seqIx: '12.5' },
      { shardCreateTime: 1_600_000_000_000, shardIx: 2, version: 1, seqIx: 4 },
    ];
    for (const obj of objects) {
      expect(outcome(() => fast.stringifySequence(obj))).toEqual(outcome(() => original.stringifySequence(obj)));
    }
  });
});

import { createRequire } from 'node:module';

/**
 * kinesalite's sequence numbers with native BigInt instead of bignumber.js: it parses one per
 * record it reads and writes, and one more per record it writes (the shard's starting number),
 * which made bignumber.js the largest single cost of the local Kinesis. The answers are
 * kinesalite's own: the fast versions take only the shapes kinesalite itself produces (a decimal
 * string of a version-2 sequence number, a plain record of one) and hand anything else to the
 * original function. test/unit/local/kinesalite-sequences.test.ts compares both.
 */

const require = createRequire(import.meta.url);

export interface SequenceObject {
  shardCreateTime: number;
  seqIx?: string | number;
  byte1?: string;
  seqTime?: number;
  shardIx: number;
  version?: number | null;
  seqRand?: string;
}

export interface SequenceFunctions {
  parseSequence(seq: string): SequenceObject;
  stringifySequence(obj: SequenceObject): string;
  incrementSequence(seqObj: SequenceObject | string, seqTime?: number): string;
}

const POW_2_124 = 2n ** 124n;
const POW_2_129 = 2n ** 129n;
const POW_2_185 = 2n ** 185n;
const POW_2_185_NEXT = 3n * 2n ** 184n;
const DECIMAL = /^\d+$/;
const HEX = /^[0-9a-f]+$/;

function shardIxToHex(shardIx: number): string {
  return ('0000000' + (shardIx || 0).toString(16)).slice(-8);
}

/** The fast versions, falling back on `original` for what they do not take. */
export function fastSequences(original: SequenceFunctions): SequenceFunctions {
  const parseSequence = (seq: string): SequenceObject => {
    if (typeof seq !== 'string' || !DECIMAL.test(seq)) return original.parseSequence(seq);
    let seqNum = BigInt(seq);
    if (seqNum < POW_2_124) seqNum += POW_2_124;
    // Versions 0 and 1 (numbers below 2^129, or ending in 1) are rare: kinesalite parses them.
    if (seqNum < POW_2_129 || !(seqNum > POW_2_185 && seqNum < POW_2_185_NEXT)) return original.parseSequence(seq);
    const hex = seqNum.toString(16);
    if (parseInt(hex.slice(hex.length - 1), 16) !== 2) return original.parseSequence(seq);
    const seqIxHex = hex.slice(11, 27);
    let shardIxHex = hex.slice(38, 46);
    if (parseInt(seqIxHex[0]!, 16) > 7) throw new Error('Sequence index too high');
    if (parseInt(shardIxHex[0]!, 16) > 7) shardIxHex = '-' + shardIxHex;
    const shardCreateSecs = parseInt(hex.slice(1, 10), 16);
    if (shardCreateSecs >= 16025175000) throw new Error('Date too large: ' + shardCreateSecs);
    return {
      shardCreateTime: shardCreateSecs * 1000,
      seqIx: BigInt('0x' + seqIxHex).toString(),
      byte1: hex.slice(27, 29),
      seqTime: parseInt(hex.slice(29, 38), 16) * 1000,
      shardIx: parseInt(shardIxHex, 16),
      version: 2,
    };
  };

  const seqIxHex = (seqIx: string | number | undefined): string | undefined => {
    const value = seqIx || 0;
    if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value.toString(16) : undefined;
    return typeof value === 'string' && DECIMAL.test(value) ? BigInt(value).toString(16) : undefined;
  };

  const stringifySequence = (obj: SequenceObject): string => {
    if (!(obj.version == null || obj.version == 2)) return original.stringifySequence(obj);
    const ix = seqIxHex(obj.seqIx);
    if (ix === undefined) return original.stringifySequence(obj);
    const hex = [
      '2',
      ('00000000' + Math.floor(obj.shardCreateTime / 1000).toString(16)).slice(-9),
      (obj.shardIx || 0).toString(16).slice(-1),
      ('0000000000000000' + ix).slice(-16),
      obj.byte1 || '00',
      ('00000000' + Math.floor((obj.seqTime || obj.shardCreateTime) / 1000).toString(16)).slice(-9),
      shardIxToHex(obj.shardIx),
      '2',
    ].join('');
    return HEX.test(hex) ? BigInt('0x' + hex).toString() : original.stringifySequence(obj);
  };

  const incrementSequence = (seqObj: SequenceObject | string, seqTime?: number): string => {
    const parsed = typeof seqObj === 'string' ? parseSequence(seqObj) : seqObj;
    return stringifySequence({
      shardCreateTime: parsed.shardCreateTime,
      seqIx: parsed.seqIx,
      seqTime: seqTime || parsed.seqTime! + 1000,
      shardIx: parsed.shardIx,
    });
  };

  return { parseSequence, stringifySequence, incrementSequence };
}

let installed = false;

/** Puts the fast versions on kinesalite's db module, which its actions call them through. */
export function installFastSequences(): void {
  if (installed) return;
  const db = require('kinesalite/db') as SequenceFunctions;
  const original: SequenceFunctions = {
    parseSequence: db.parseSequence,
    stringifySequence: db.stringifySequence,
    incrementSequence: db.incrementSequence,
  };
  Object.assign(db, fastSequences(original));
  installed = true;
}

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor } from '../../../src/keys/key-record.js';

const MAX_DATE_MS = 8.64e15;
const objectId = fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 24, maxLength: 24 });
const position = fc.record({ t: fc.integer({ min: 0, max: MAX_DATE_MS }), id: objectId });

/** A string that is a cursor, or looks almost like one: the shapes an edited button value takes. */
const nearCursor = fc.oneof(
  fc.string(),
  fc
    .tuple(
      fc.string({ unit: fc.constantFrom(...'0123456789abcdefghijklmnopqrstuvwxyz'), minLength: 0, maxLength: 14 }),
      fc.constantFrom('.', ':', ''),
      fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEFgz'), minLength: 0, maxLength: 26 }),
    )
    .map(([t, dot, id]) => `${t}${dot}${id}`),
  position.map(encodeCursor),
  // Times around and past the last Date, written as encode would.
  fc
    .tuple(fc.string({ unit: fc.constantFrom(...'0123456789abcdefghijklmnopqrstuvwxyz'), minLength: 10, maxLength: 12 }), objectId)
    .map(([t, id]) => `${t}.${id}`),
);

describe('decodeCursor', () => {
  it('decodes every cursor it encoded to the same position', () => {
    fc.assert(
      fc.property(position, (p) => {
        expect(decodeCursor(encodeCursor(p))).toEqual(p);
      }),
    );
  });

  it('never throws, and anything it accepts is a real position that encodes back to the same text', () => {
    fc.assert(
      fc.property(nearCursor, (s) => {
        const c = decodeCursor(s);
        if (!c) return;
        expect(Number.isNaN(new Date(c.t).getTime())).toBe(false);
        expect(c.id).toMatch(/^[0-9a-f]{24}$/);
        expect(encodeCursor(c)).toBe(s);
      }),
      { numRuns: 2000 },
    );
  });

  it.each([
    ['a time no Date can hold (the crafted cursor of issue 10)', 'zzzzzzzzzzzz.0123456789abcdef01234567'],
    ['just past the last Date', `${(MAX_DATE_MS + 1).toString(36)}.0123456789abcdef01234567`],
    ['leading zeros (not what encode makes)', '0001.0123456789abcdef01234567'],
    ['upper-case id', 'abc.0123456789ABCDEF01234567'],
    ['short id', 'abc.0123456789abcdef'],
    ['no separator', 'abc0123456789abcdef01234567'],
    ['empty', ''],
    ['negative', '-1.0123456789abcdef01234567'],
  ])('refuses %s', (_label, s) => {
    expect(decodeCursor(s)).toBeUndefined();
  });
});

import { describe, expect, it } from 'vitest';
import { countLabel, formatCount, formatDuration, formatFigure, formatNumber, formatPercent, formatRatio, OVERFLOW_LABEL, windowPhrase } from './evidence-format.js';

describe('the evidence format', () => {
  it('prints one duration one way, in the largest unit below its size', () => {
    expect(formatDuration(4_200)).toBe('4.2 s');
    expect([0, 2.54, 12.4, 850, 999.4].map(formatDuration)).toEqual(['0 ms', '2.5 ms', '12 ms', '850 ms', '999 ms']);
    expect([1_000, 1_003, 30_000, 59_400].map(formatDuration)).toEqual(['1 s', '1 s', '30 s', '59 s']);
    expect([184_000, 3_335_900, 7_200_000, 90_000_000].map(formatDuration)).toEqual(['3.1 min', '56 min', '2 h', '25 h']);
  });

  it('moves to the next unit when rounding reaches it', () => {
    expect(formatDuration(999.6)).toBe('1 s');
    expect(formatDuration(59_960)).toBe('1 min');
    expect(formatDuration(3_599_000)).toBe('1 h');
  });

  it('keeps non-finite durations visible instead of guessing a unit', () => {
    expect(formatDuration(Number.NaN)).toBe('NaN');
    expect(formatDuration(Number.POSITIVE_INFINITY)).toBe('Infinity');
  });

  it('prints figures with one decimal below 10 and whole from 10, never as -0', () => {
    expect([0, 4.25, 3.0, 9.96, 12.5, 21.7, -0.01].map(formatFigure)).toEqual(['0', '4.3', '3', '10', '13', '22', '0']);
  });

  it('prints percentages and ratios with the same figures', () => {
    expect([0, 0.003, 0.045, 0.29, 0.517, 1].map(formatPercent)).toEqual(['0 %', '0.3 %', '4.5 %', '29 %', '52 %', '100 %']);
    expect([1, 3.03, 21.7].map(formatRatio)).toEqual(['1×', '3×', '22×']);
  });

  it('prints counts and fixed-decimal numbers without locale separators', () => {
    expect(formatCount(1_234_567)).toBe('1234567');
    expect(formatNumber(12.5, 2)).toBe('12.5');
    expect(formatNumber(-0.0001, 2)).toBe('0');
  });

  it('counts labels beyond the cap under the one overflow label', () => {
    const table = new Map<string, number>();
    for (const label of ['a', 'b', 'a', 'c', 'd', 'b']) countLabel(table, label, 1, 2);
    expect([...table]).toEqual([
      ['a', 2],
      ['b', 2],
      [OVERFLOW_LABEL, 2],
    ]);
    expect(OVERFLOW_LABEL).toBe('__other__');
  });

  it('names the window a judgement was made on', () => {
    expect(windowPhrase('5m')).toBe('over the last 5m');
    expect(windowPhrase('all')).toBe('over the whole input');
  });
});

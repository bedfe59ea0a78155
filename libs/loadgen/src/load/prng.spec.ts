import { deriveSeed, mulberry32, pick, randomIntBetween } from './prng';

describe('prng', () => {
  it('gives the same sequence for the same seed and another one for another seed', () => {
    const a = mulberry32(42);
    const b = mulberry32(42);
    const c = mulberry32(43);
    const seqA = Array.from({ length: 5 }, a);
    expect(Array.from({ length: 5 }, b)).toEqual(seqA);
    expect(Array.from({ length: 5 }, c)).not.toEqual(seqA);
    for (const x of seqA) {
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThan(1);
    }
  });

  it('derives distinct per-session seeds', () => {
    const seeds = new Set(Array.from({ length: 100 }, (_, i) => deriveSeed(7, i)));
    expect(seeds.size).toBe(100);
  });

  it('draws integers over the whole inclusive range', () => {
    const random = mulberry32(1);
    const seen = new Set(Array.from({ length: 500 }, () => randomIntBetween(random, 1, 10)));
    expect([...seen].sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(pick(() => 0.999, ['a', 'b', 'c'])).toBe('c');
  });
});

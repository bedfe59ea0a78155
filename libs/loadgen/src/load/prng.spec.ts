import { chance, deriveSeed, mulberry32, pick, randomIntBetween, streamSeed, weighted } from './prng';

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

  it('repeats a named stream for the same seed and name', () => {
    const a = mulberry32(streamSeed(7, 'nemesis'));
    const b = mulberry32(streamSeed(7, 'nemesis'));
    expect(Array.from({ length: 20 }, a)).toEqual(Array.from({ length: 20 }, b));
  });

  it('gives different sequences for different seeds and stream names', () => {
    const first = (seed: number, stream: string) => Array.from({ length: 4 }, mulberry32(streamSeed(seed, stream))).join();
    const seqs = new Set<string>();
    for (let seed = 0; seed < 50; seed++) for (const stream of ['nemesis', 'session-1', 'session-2']) seqs.add(first(seed, stream));
    expect(seqs.size).toBe(150);
  });

  it('keeps the named streams a seeded chaos run replays', () => {
    const draws = (seed: number, stream: string) => {
      const random = mulberry32(streamSeed(seed, stream));
      const next = Array.from({ length: 3 }, random);
      return [next, randomIntBetween(random, 1, 10), chance(random, 0.5), pick(random, ['a', 'b', 'c']), weighted(random, { kill: 3, pause: 1, crash: 2 })];
    };
    expect(draws(7, 'nemesis')).toEqual([[0.8462820022832602, 0.38806504919193685, 0.6835886952467263], 2, true, 'b', 'kill']);
    expect(draws(7, 'session-1')).toEqual([[0.677967021940276, 0.9934357083402574, 0.5024507683701813], 9, false, 'b', 'crash']);
    expect(draws(32, 'session-2')).toEqual([[0.245530640007928, 0.857691387180239, 0.26308736531063914], 4, false, 'c', 'pause']);
  });

  it('draws by chance and by weight in proportion', () => {
    const random = mulberry32(streamSeed(1, ''));
    const counts = { a: 0, b: 0 };
    let hits = 0;
    for (let i = 0; i < 10_000; i++) {
      counts[weighted(random, { a: 3, b: 1 })]++;
      if (chance(random, 0.2)) hits++;
    }
    expect(counts.a / 10_000).toBeCloseTo(0.75, 1);
    expect(hits / 10_000).toBeCloseTo(0.2, 1);
    expect(chance(() => 0.5, 0.5)).toBe(false);
  });
});

import { Rng } from './rng';

describe('seeded Rng', () => {
  it('repeats a sequence for the same seed and stream', () => {
    const a = new Rng(7, 'nemesis');
    const b = new Rng(7, 'nemesis');
    expect(Array.from({ length: 20 }, () => a.next())).toEqual(Array.from({ length: 20 }, () => b.next()));
  });

  it('gives different sequences for different seeds and streams', () => {
    const first = (seed: number, stream: string) => {
      const r = new Rng(seed, stream);
      return Array.from({ length: 4 }, () => r.next()).join();
    };
    const seqs = new Set<string>();
    for (let seed = 0; seed < 50; seed++) for (const stream of ['nemesis', 'session-1', 'session-2']) seqs.add(first(seed, stream));
    expect(seqs.size).toBe(150);
  });

  it('draws in range and in proportion', () => {
    const r = new Rng(1);
    const counts = { a: 0, b: 0 };
    for (let i = 0; i < 10_000; i++) {
      const n = r.int(1, 10);
      expect(n).toBeGreaterThanOrEqual(1);
      expect(n).toBeLessThanOrEqual(10);
      counts[r.weighted({ a: 3, b: 1 })]++;
    }
    expect(counts.a / 10_000).toBeCloseTo(0.75, 1);
  });
});

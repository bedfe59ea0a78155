/**
 * The part of bloomfilter@1's API the order log uses (the package ships no types).
 * See https://github.com/jasondavies/bloomfilter.js.
 */
declare module 'bloomfilter' {
  export class BloomFilter {
    /** `m` bits (rounded up to a multiple of 32), `k` hash functions. */
    constructor(m: number, k: number);
    /** A filter sized for `n` values at a false-positive rate of `error` (0–1). */
    static withTargetError(n: number, error: number): BloomFilter;
    readonly m: number;
    readonly k: number;
    add(value: string): void;
    /** False: the value was never added. True: it probably was. */
    test(value: string): boolean;
  }
}

/**
 * A consistency check: a small object with an id, a title for reports and a pure function from
 * what is being judged to a verdict. The checks of one family read the same input, derived once.
 */
export interface Check<I, Id extends string = string> {
  readonly id: Id;
  readonly title: string;
  run(input: I): CheckResult<Id>;
}

export interface CheckResult<Id extends string = string> {
  id: Id;
  title: string;
  verdict: 'pass' | 'fail';
  /** What was checked and what was found, e.g. { acknowledged: 812, missing: 0 }. */
  counts: Record<string, number>;
  /** The first violations, in words (at most {@link MAX_VIOLATIONS}). */
  violations: string[];
  /** How many violations there were in all. */
  violationCount: number;
}

export const MAX_VIOLATIONS = 20;

/** Collects a check's counts and violations (the first {@link MAX_VIOLATIONS} in words) into its result. */
export class Tally<Id extends string = string> {
  readonly counts: Record<string, number> = {};
  readonly violations: string[] = [];
  violationCount = 0;

  constructor(private readonly check: Pick<Check<unknown, Id>, 'id' | 'title'>) {}

  count(name: string, n = 1): void {
    this.counts[name] = (this.counts[name] ?? 0) + n;
  }

  set(name: string, n: number): void {
    this.counts[name] = n;
  }

  violation(text: string): void {
    this.violationCount++;
    if (this.violations.length < MAX_VIOLATIONS) this.violations.push(text);
  }

  result(pass = this.violationCount === 0): CheckResult<Id> {
    return {
      id: this.check.id,
      title: this.check.title,
      verdict: pass ? 'pass' : 'fail',
      counts: this.counts,
      violations: this.violations,
      violationCount: this.violationCount,
    };
  }
}

/** A check whose `judge` records its counts and violations on a fresh {@link Tally}; it fails on any violation. */
export function defineCheck<I, Id extends string>(id: Id, title: string, judge: (input: I, tally: Tally<Id>) => void): Check<I, Id> {
  return {
    id,
    title,
    run(input) {
      const tally = new Tally<Id>({ id, title });
      judge(input, tally);
      return tally.result();
    },
  };
}

/** Runs `checks` in order over one input. */
export function runChecks<I, Id extends string>(checks: readonly Check<I, Id>[], input: I): CheckResult<Id>[] {
  return checks.map((c) => c.run(input));
}

/** The failed checks' violations, one line each as `title: violation` (empty when every check passed). */
export function violationLines(results: readonly CheckResult[]): string[] {
  return results
    .filter((r) => r.verdict === 'fail')
    .flatMap((r) => {
      const more = r.violationCount - r.violations.length;
      return [...r.violations, ...(more > 0 ? [`… and ${more} more`] : [])].map((v) => `${r.title}: ${v}`);
    });
}

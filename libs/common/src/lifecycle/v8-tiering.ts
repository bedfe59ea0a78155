import { setFlagsFromString } from 'node:v8';

/** The V8 option that `V8_INTERRUPT_BUDGET` sets. */
export function interruptBudgetFlag(budget: number): string {
  return `--interrupt-budget=${budget}`;
}

/**
 * Sets V8's interrupt budget (`V8_INTERRUPT_BUDGET`): how much bytecode a function runs between
 * two profiler ticks, and so how soon V8 compiles a hot function with its optimizing compiler.
 *
 * Under V8's own budget a freshly started service runs its request path unoptimised for many
 * seconds of load: a trade passes through each function once or twice, and a function needs
 * hundreds or thousands of calls to earn its ticks. The bazaar's CPU per trade kept falling for 10–12 s of
 * the lab's load. With a smaller budget the same code is optimised after a fraction of those
 * calls. The option is read each time a function's budget is renewed, so it may be set at run
 * time. The servers set it once they listen: set before their modules loaded, it also had V8
 * optimise start-up code that runs once, and a replica restarted just before a failover
 * compiled that in the background while the failover ran (the median of 10 kills 2.5–29 ms
 * longer than under V8's own budget, in each of 8 pairs of runs).
 *
 * Returns the line to log, or undefined when the budget is 0 (V8's own is left alone).
 */
export function applyInterruptBudget(budget: number, setFlags: (flags: string) => void = setFlagsFromString): string | undefined {
  if (budget === 0) return undefined;
  setFlags(interruptBudgetFlag(budget));
  return `V8 tiering: ${interruptBudgetFlag(budget)} (V8_INTERRUPT_BUDGET)`;
}

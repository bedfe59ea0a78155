/** The cluster harness lives in libs/testkit so that the chaos runner and the benchmarks share it. */
export * from '@app/testkit';

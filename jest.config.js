/**
 * Unit specs live beside the code (`*.spec.ts`). NestJS 12 is published as ES modules only, so
 * the specs run in Jest's native ESM mode (`--experimental-vm-modules`, see package.json) and
 * ts-jest emits ES modules.
 */
module.exports = {
  rootDir: '.',
  // Jest's default is one worker per core but one, which is a single worker on a 2-core machine;
  // the specs spend much of their time waiting on SQLite files and timers, so two workers there
  // take about half the time (CI: 182 s with one, 89 s with two).
  maxWorkers: Math.max(2, require('node:os').availableParallelism() - 1),
  // A worker ends its process once its last spec file is done, and takes 250-500 ms here to go
  // from its exit to gone (heaps of 0.4-1 GB after 50 spec files in ESM mode). Jest's default
  // 500 ms grace then SIGTERMed it and printed "A worker process has failed to exit gracefully",
  // although it had exited with 0 and left no handle open (checked after every spec file).
  workerGracefulExitTimeout: 5000,
  testEnvironment: 'node',
  moduleFileExtensions: ['js', 'json', 'ts'],
  roots: ['<rootDir>/apps', '<rootDir>/libs'],
  testRegex: '.*\\.spec\\.ts$',
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: '<rootDir>/tsconfig.spec.json' }],
  },
  moduleNameMapper: {
    '^@app/contracts(|/.*)$': '<rootDir>/libs/contracts/src$1',
    '^@app/cache(|/.*)$': '<rootDir>/libs/cache/src$1',
    '^@app/common(|/.*)$': '<rootDir>/libs/common/src$1',
    '^@app/loadgen(|/.*)$': '<rootDir>/libs/loadgen/src$1',
    '^@app/testkit(|/.*)$': '<rootDir>/libs/testkit/src$1',
    '^@app/verify(|/.*)$': '<rootDir>/libs/verify/src$1',
  },
};

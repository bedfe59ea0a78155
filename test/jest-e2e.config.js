/** End-to-end suites: real built apps started as child processes (see test/support/cluster.ts). */
module.exports = {
  rootDir: '..',
  testEnvironment: 'node',
  moduleFileExtensions: ['js', 'json', 'ts'],
  roots: ['<rootDir>/test'],
  testRegex: '.*\\.e2e-spec\\.ts$',
  // The suites only talk HTTP to the built apps; they never load NestJS itself.
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.e2e.json' }] },
  moduleNameMapper: {
    '^@app/contracts(|/.*)$': '<rootDir>/libs/contracts/src$1',
    '^@app/cache(|/.*)$': '<rootDir>/libs/cache/src$1',
    '^@app/common(|/.*)$': '<rootDir>/libs/common/src$1',
    '^@app/loadgen(|/.*)$': '<rootDir>/libs/loadgen/src$1',
    '^@app/testkit(|/.*)$': '<rootDir>/libs/testkit/src$1',
  },
  testTimeout: 120000,
};

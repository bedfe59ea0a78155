/** End-to-end suites: real built apps started as child processes (see test/support/cluster.ts). */
module.exports = {
  rootDir: '..',
  testEnvironment: 'node',
  moduleFileExtensions: ['js', 'json', 'ts'],
  roots: ['<rootDir>/test'],
  testRegex: '.*\\.e2e-spec\\.ts$',
  // The suites only talk HTTP to the built apps; they never load NestJS itself.
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.e2e.json' }] },
  // The libraries' @app/* aliases, as the unit specs map them (<rootDir> is the repository root in both).
  moduleNameMapper: require('../jest.config.js').moduleNameMapper,
  testTimeout: 120000,
};

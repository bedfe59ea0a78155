/**
 * Unit specs live beside the code (`*.spec.ts`). NestJS 12 is published as ES modules only, so
 * the specs run in Jest's native ESM mode (`--experimental-vm-modules`, see package.json) and
 * ts-jest emits ES modules.
 */
module.exports = {
  rootDir: '.',
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

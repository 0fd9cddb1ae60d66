/**
 * Jest configuration: ts-jest in a Node environment.
 *
 * `@jupyterlab/services` is mocked in the tests themselves; the few
 * JupyterLab ES-module packages that are really imported are transformed
 * by ts-jest (allowJs) instead of being ignored.
 */
const esModules = ['@jupyterlab/coreutils', '@lumino/'].join('|');

/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/src'],
  setupFiles: ['<rootDir>/jest.setup.js'],
  testRegex: 'src/.*/.*\\.spec\\.ts$',
  transform: {
    '^.+\\.[jt]sx?$': ['ts-jest', { tsconfig: 'tsconfig.test.json' }]
  },
  transformIgnorePatterns: [`/node_modules/(?!(${esModules})).+`],
  collectCoverageFrom: ['src/**/*.ts', '!src/**/*.d.ts', '!src/**/__tests__/**']
};

// Real servers on a shared, possibly loaded CI runner: jest's 5 s default fails tests that are
// merely slow. Tests known to be long set their own, larger timeout. (A project's `testTimeout`
// in jest.config.js is not enough: jest-circus reads only the global one.)
jest.setTimeout(30_000);

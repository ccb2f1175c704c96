// Containers start in seconds on a quiet machine and much slower on a loaded one: each test
// states a generous timeout of its own, and this is the floor.
jest.setTimeout(120_000);

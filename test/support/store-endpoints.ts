// The one place tests get their store-endpoint policy (functions/shared/network/): every store a
// test runs (MinIO, moto, LocalStack, the fakes) listens on loopback over http, which a deployment
// refuses by default. Set before each test file loads anything, as the local runner sets its own;
// a test that needs the production default builds a `StoreEndpointPolicy` of its own, or sets
// these variables first (`??=` leaves a value it set alone).
process.env.STORE_ENDPOINT_ALLOW_HTTP ??= 'true';
process.env.STORE_ENDPOINT_ALLOWED_NETWORKS ??= '127.0.0.0/8,::1/128,localhost';

import type * as z from 'zod/mini';
import {
  allowedNetworkProblem,
  type StoreEndpointEnvironment,
} from '../../functions/shared/network/store-endpoint-policy';

/**
 * The store-endpoint policy of a deployment (SSRF: where the functions' own calls to buckets'
 * stores may go), set on every function that calls stores: admin, presign, drift check, rotation.
 */
export interface StoreEndpointSettings {
  /** Accept `http` store endpoints. Only for stores a deployment reaches privately. @default false */
  readonly allowHttp?: boolean;
  /**
   * Host names and CIDRs store endpoints may reach although private (an on-prem MinIO at
   * `10.0.0.5/32`, `minio.internal`). @default none: public addresses only
   */
  readonly allowedNetworks?: readonly string[];
}

type StoreEndpointVariables = {
  [Name in keyof typeof StoreEndpointEnvironment]: z.input<(typeof StoreEndpointEnvironment)[Name]>;
};

/** The settings as the functions' environment variables; a bad host name or CIDR fails synth. */
export function storeEndpointEnvironment(settings: StoreEndpointSettings = {}): StoreEndpointVariables {
  const networks = settings.allowedNetworks ?? [];
  for (const entry of networks) {
    const problem = allowedNetworkProblem(entry);
    if (problem !== undefined) {
      throw new Error(`store endpoint allow-list: ${JSON.stringify(entry)} ${problem}`);
    }
  }
  return {
    STORE_ENDPOINT_ALLOW_HTTP: settings.allowHttp === true ? 'true' : 'false',
    STORE_ENDPOINT_ALLOWED_NETWORKS: networks.length === 0 ? undefined : networks.join(','),
  };
}

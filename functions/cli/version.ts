// The package's own version: read from package.json when the CLI runs from a clone (tsx), and
// inlined into the packed CLI's bundle by esbuild, which keeps only this one field.
import { version } from '../../package.json';

/** The version `fence-buckets --version` prints. */
export const CLI_VERSION: string = version;

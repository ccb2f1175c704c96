// A resolve fallback over NODE_PATH for ES modules, loaded by /var/runtime/bootstrap with
// `node --import` (FBB_LAMBDA_NODE_PATH_HOOK=off leaves it out).
//
// Why: Lambda's Node.js runtime lets an ES module handler (/var/task/index.mjs) import the AWS
// SDK it provides in /var/runtime/node_modules. The open-source runtime interface client loads the
// handler with a plain import(), and Node's ESM resolver ignores NODE_PATH, so the same import
// fails with ERR_MODULE_NOT_FOUND. This hook lets Node resolve first as usual and, only when a
// bare specifier is not found, resolves it again from each NODE_PATH directory in order.
import { registerHooks } from 'node:module';
import { delimiter, join } from 'node:path';
import { pathToFileURL } from 'node:url';

const directories = (process.env.NODE_PATH ?? '').split(delimiter).filter((directory) => directory !== '');

function isBare(specifier) {
  return !/^(\.{0,2}\/|[a-zA-Z][a-zA-Z0-9+.-]*:)/.test(specifier);
}

registerHooks({
  resolve(specifier, context, nextResolve) {
    try {
      return nextResolve(specifier, context);
    } catch (error) {
      if (error?.code !== 'ERR_MODULE_NOT_FOUND' || !isBare(specifier)) throw error;
      for (const directory of directories) {
        // Resolved as if imported by a file in that directory: the lookup starts at
        // <directory>/node_modules and then finds <directory>/<package> for a node_modules entry.
        const parentURL = pathToFileURL(join(directory, '__fbb_node_path__.mjs')).href;
        try {
          return nextResolve(specifier, { ...context, parentURL });
        } catch {
          // not in this directory: try the next
        }
      }
      throw error;
    }
  },
});

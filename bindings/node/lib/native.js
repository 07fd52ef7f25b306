'use strict';
// Loads the compiled addon: build/node/datalith.node (built by `npm install`
// at the repository root), or the path in DATALITH_NODE_ADDON.
const path = require('path');

const candidates = [
  process.env.DATALITH_NODE_ADDON,
  path.join(__dirname, '..', '..', '..', 'build', 'node', 'datalith.node'),
  path.join(__dirname, '..', 'build', 'datalith.node'),
].filter(Boolean);

let native = null;
const errors = [];
for (const p of candidates) {
  try {
    native = require(p);
    break;
  } catch (e) {
    errors.push(e);
  }
}
if (!native) {
  // Report the addon that exists and failed to load (an undefined symbol
  // means it was built against other engine sources), not the later
  // candidates' "Cannot find module".
  const found = errors.find((e) => e.code !== 'MODULE_NOT_FOUND') || errors[errors.length - 1];
  const e = new Error((found && found.code !== 'MODULE_NOT_FOUND'
    ? 'datalith: the native addon failed to load (rebuild it: `npm install` at the repository root): '
    : 'datalith: the native addon is not built (run `npm install` at the repository root); last error: ') +
    (found && found.message));
  e.code = 'DATALITH_EUNSUPPORTED';
  throw e;
}
module.exports = native;

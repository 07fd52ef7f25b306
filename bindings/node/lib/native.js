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
let lastError = null;
for (const p of candidates) {
  try {
    native = require(p);
    break;
  } catch (e) {
    lastError = e;
  }
}
if (!native) {
  const e = new Error('datalith: the native addon is not built (run `npm install` at the ' +
                      'repository root); last error: ' + (lastError && lastError.message));
  e.code = 'DATALITH_EUNSUPPORTED';
  throw e;
}
module.exports = native;

// SPDX-License-Identifier: Apache-2.0
// browser/core/errors.js: the one error class of the client core. Every
// failure throws an AgepassError whose `code` is a short string (see API.md,
// "Error codes"); messages never carry a secret, a token, a grant, a nonce
// or the URL of a visited page.

export class AgepassError extends Error {
  constructor(code, message = code, extra = undefined) {
    super(message);
    this.name = 'AgepassError';
    this.code = code;
    if (extra) Object.assign(this, extra);
  }
}

// Throws AgepassError(code) unless cond holds (the C AGP_ENSURE).
export function ensure(cond, code, message) {
  if (!cond) throw new AgepassError(code, message);
}

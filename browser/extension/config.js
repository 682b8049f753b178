// SPDX-License-Identifier: Apache-2.0
// browser/extension/config.js: build settings. The test build
// (`npm run build:ext:test`) writes its own copy of this file; the
// extension people load has exactly these values.
export const CONFIG = Object.freeze({
  scheduleScale: 1, // randomised refill moments as the wallet draws them
  openOnInstall: false, // no page opens by itself
});

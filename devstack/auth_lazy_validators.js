// Preloaded into the Auth emulator (`node --require`, devstack/emulators.py) when the stack runs
// with lean emulators. firebase-tools serves the Identity Toolkit API through exegesis, which by
// default compiles the JSON-schema validators of every operation (requests and responses) when
// the server starts: about 15 of the 20 CPU-seconds of the emulator's start. exegesis' own
// option `lazyCompileValidationSchemas` compiles each one on its first use instead, with the
// same schemas and the same answers; firebase-tools does not set it, so this sets it by default
// in the options exegesis compiles (every caller's explicit choice still wins).
"use strict";

const fs = require("fs");
const path = require("path");

// Resolved from firebase-tools' own location (process.argv[1], its bin script), so the module
// patched is the very one the emulator loads.
const cli = fs.realpathSync(process.argv[1]);
const options = require(require.resolve("exegesis/lib/options", { paths: [path.dirname(cli)] }));
const compileOptions = options.compileOptions;
if (typeof compileOptions !== "function") {
  throw new Error("exegesis/lib/options has no compileOptions: update devstack/auth_lazy_validators.js");
}
options.compileOptions = (given = {}) =>
  compileOptions({ lazyCompileValidationSchemas: true, ...given });

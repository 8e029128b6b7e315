#!/usr/bin/env node
// The installed `quikchat` command runs the compiled CLI (`npm run build` produces it).
await import("../dist/src/cli/main.js");

#!/usr/bin/env node
// The installed `quikchat` command: runs the compiled CLI (`npm run build` produces it).
//
// It is CommonJS so that it runs before anything starts libuv's thread pool (the ES module
// loader reads files through it), whose size libuv reads once, at start. Each node-rdkafka
// consumer holds a pool thread for up to its consume timeout on every poll, and a process
// running every role has thirty-three of them: with the default four threads they queue behind each
// other (a lone presence change took ~280 ms to reach a watcher instead of ~40 ms). An
// operator's own UV_THREADPOOL_SIZE wins.
/* global process */
process.env.UV_THREADPOOL_SIZE ??= "64";
void import("../dist/src/cli/main.js");

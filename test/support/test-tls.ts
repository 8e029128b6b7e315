import { readFileSync } from "node:fs";

const TLS_DIR = new URL("./tls/", import.meta.url);
/** The self-signed certificate of `localhost`/`127.0.0.1` the stand-ins serve (test-only, see tls/README.md): clients' `ca`. */
export const STAND_IN_CERT = readFileSync(new URL("localhost-test-only.cert.pem", TLS_DIR), "utf8");
/** Its private key. */
export const STAND_IN_KEY = readFileSync(new URL("localhost-test-only.key.pem", TLS_DIR), "utf8");

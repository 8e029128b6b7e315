/** What the local stack manages: each present entry is a server this machine should run. */
export interface StackSpec {
  /** Root for data, logs, pids, resolved classpaths: `<repo>/.stack`. */
  readonly dir: string;
  /**
   * Where resolved Maven classpaths and unpacked distributions are kept; defaults to `<dir>/cache`.
   * Several stacks (a test stack beside the dev one) may share it.
   */
  readonly cacheDir?: string;
  /** A JDK to run the Java components with; the `java` on PATH when absent. */
  readonly javaHome?: string;
  readonly kafka?: { readonly host: string; readonly port: number; readonly controllerPort: number; readonly version: string };
  readonly registry?: { readonly host: string; readonly port: number; readonly version: string };
  readonly mongo?: { readonly host: string; readonly port: number; readonly version: string };
  readonly redis?: { readonly host: string; readonly port: number };
  readonly mysql?: {
    readonly host: string;
    readonly port: number;
    readonly user: string;
    readonly password: string;
    readonly databases: readonly string[];
  };
  /** coturn, the TURN/STUN server of calls; its static-auth-secret is generated once and kept in its folder. */
  readonly coturn?: CoturnSpec;
  /** S3Proxy, the S3-compatible store of recordings; its access key pair is generated once and kept in its folder. */
  readonly s3proxy?: S3ProxySpec;
}

/** Where the stack runs coturn: its STUN/TURN port (UDP and TCP) and the UDP ports it relays from, inclusive. */
export interface CoturnSpec {
  readonly host: string;
  readonly port: number;
  readonly minPort: number;
  readonly maxPort: number;
}

/** Where the stack runs S3Proxy, and which `org.gaul:s3proxy` version. */
export interface S3ProxySpec {
  readonly host: string;
  readonly port: number;
  readonly version: string;
}

export type ComponentName = "kafka" | "registry" | "mongo" | "redis" | "mysql" | "coturn" | "s3proxy";

export interface ComponentStatus {
  name: ComponentName;
  /** `host:port` the component answers on. */
  address: string;
  /**
   * What `up` and `down` did: `started`: this call started it; `reused`: it already answered
   * (ours or not); `stopped`: this call stopped it.
   * What `status` sees: `running`: this stack's process answers; `starting`: this stack's
   * process is alive but does not answer yet; `reused`: something this stack did not start
   * answers (the machine's Redis, say).
   * Either: `down`: nothing answers there.
   */
  state: "started" | "reused" | "stopped" | "running" | "starting" | "down";
  /** Set when the process was started by this stack and is alive. */
  pid?: number;
  version?: string;
  detail?: string;
  /** How long the operation on this component took. */
  ms?: number;
}

/** Logs one progress line (no trailing newline). */
export type StackLog = (line: string) => void;

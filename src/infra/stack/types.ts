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
}

export type ComponentName = "kafka" | "registry" | "mongo" | "redis" | "mysql";

export interface ComponentStatus {
  name: ComponentName;
  /** `host:port` the component answers on. */
  address: string;
  /**
   * `started`: this call started it; `reused`: it already answered (ours or not);
   * `stopped`: this call stopped it; `down`: nothing answers there.
   */
  state: "started" | "reused" | "stopped" | "down";
  /** Set when the process was started by this stack and is alive. */
  pid?: number;
  version?: string;
  detail?: string;
  /** How long the operation on this component took. */
  ms?: number;
}

/** Logs one progress line (no trailing newline). */
export type StackLog = (line: string) => void;

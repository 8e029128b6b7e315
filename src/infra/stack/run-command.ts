import { spawn } from "node:child_process";

export interface CommandResult {
  readonly code: number | null;
  readonly output: string;
}

/**
 * Runs a command to completion, collecting stdout and stderr together. Resolves `undefined`
 * when the executable does not exist; kills it and resolves with code null after `timeoutMs`.
 */
export function runCommand(
  command: string,
  args: readonly string[],
  opts: { cwd?: string; timeoutMs: number },
): Promise<CommandResult | undefined> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...args], { cwd: opts.cwd, stdio: ["ignore", "pipe", "pipe"] });
    const chunks: Buffer[] = [];
    child.stdout.on("data", (c: Buffer) => chunks.push(c));
    child.stderr.on("data", (c: Buffer) => chunks.push(c));
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs);
    child.once("error", (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (err.code === "ENOENT") resolve(undefined);
      else reject(err);
    });
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, output: Buffer.concat(chunks).toString("utf8") });
    });
  });
}

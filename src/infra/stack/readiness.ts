import { createSocket } from "node:dgram";
import { open } from "node:fs/promises";
import { get as httpGet } from "node:http";
import { Socket } from "node:net";
import { isAlive } from "./process-control.js";
import { StackError } from "./stack-error.js";
import { sleep } from "../../platform/sleep.js";

/** True when a TCP connection to host:port is accepted within `timeoutMs`. */
export function tcpOpen(host: string, port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (open: boolean): void => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("error", () => done(false));
    socket.connect(port, host, () => done(true));
  });
}

/**
 * Connects, writes `request` (if any) and collects bytes until `complete(received)` says the
 * answer is whole. Resolves with the bytes, or undefined on refusal, error, close or timeout.
 */
export function tcpExchange(
  host: string,
  port: number,
  request: Buffer | undefined,
  complete: (received: Buffer) => boolean,
  timeoutMs: number,
): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const socket = new Socket();
    let received = Buffer.alloc(0);
    let settled = false;
    const finish = (value: Buffer | undefined): void => {
      if (settled) return;
      settled = true;
      socket.destroy();
      resolve(value);
    };
    socket.setTimeout(timeoutMs, () => finish(undefined));
    socket.once("error", () => finish(undefined));
    socket.once("close", () => finish(undefined));
    socket.on("data", (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (complete(received)) finish(received);
    });
    socket.connect(port, host, () => {
      if (request !== undefined) socket.write(request);
    });
  });
}

/**
 * Sends the datagram `request` to host:port, again every `resendMs` (datagrams get lost), until a
 * datagram for which `accept` is true comes back. Resolves with it, or undefined when the port
 * is refused or after `timeoutMs`.
 */
export function udpExchange(
  host: string,
  port: number,
  request: Buffer,
  accept: (received: Buffer) => boolean,
  timeoutMs: number,
  resendMs = 250,
): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const socket = createSocket(host.includes(":") ? "udp6" : "udp4");
    let settled = false;
    const finish = (value: Buffer | undefined): void => {
      if (settled) return;
      settled = true;
      clearInterval(resend);
      clearTimeout(timer);
      socket.close();
      resolve(value);
    };
    const send = (): void => {
      if (settled) return;
      socket.send(request, (error) => {
        if (error) finish(undefined);
      });
    };
    const resend = setInterval(send, resendMs);
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    // Connected, so that an ICMP "port unreachable" ends the wait at once (ECONNREFUSED).
    socket.once("error", () => finish(undefined));
    socket.on("message", (message: Buffer) => {
      if (accept(message)) finish(message);
    });
    socket.connect(port, host, send);
  });
}

/**
 * True when GET `url` (plain http) answers 200 within `timeoutMs`. Each probe uses its own
 * connection, destroyed at once, so polling leaves no pooled sockets behind.
 */
export function httpOk(url: string, timeoutMs = 2_000): Promise<boolean> {
  return new Promise((resolve) => {
    const req = httpGet(url, { agent: false, timeout: timeoutMs }, (res) => {
      resolve(res.statusCode === 200);
      req.destroy();
    });
    req.once("timeout", () => req.destroy());
    req.once("error", () => resolve(false));
    req.once("close", () => resolve(false));
  });
}

/** The last line of `logFile` that looks like an error, shortened, if any (reads the tail only). */
export async function lastProblem(logFile: string): Promise<string | undefined> {
  const handle = await open(logFile, "r").catch(() => undefined);
  if (handle === undefined) return undefined;
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, 64 * 1024);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    const lines = buffer.toString("utf8").split("\n");
    const line = lines.reverse().find((l) => /\b(ERROR|FATAL|SEVERE)\b|Exception|Error:/.test(l));
    return line === undefined ? undefined : line.trim().slice(0, 240);
  } finally {
    await handle.close();
  }
}

export interface WaitOptions {
  /** Names the thing awaited in the timeout message, e.g. "Kafka on 127.0.0.1:9092". */
  readonly what: string;
  readonly timeoutMs: number;
  readonly logFile: string;
  /** When given, waiting stops as soon as this process is gone. */
  readonly pid?: number;
  readonly intervalMs?: number;
}

/**
 * Polls `ready` until it resolves true. Rejects with a one-line StackError naming the log file
 * when the time runs out or the watched process exits first.
 */
export async function waitUntil(ready: () => Promise<boolean>, opts: WaitOptions): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    if (await ready()) return;
    if (opts.pid !== undefined && !(await isAlive(opts.pid))) {
      const problem = await lastProblem(opts.logFile);
      throw new StackError(`${opts.what} exited during startup; read ${opts.logFile}${problem ? ` (${problem})` : ""}`);
    }
    if (Date.now() >= deadline) {
      throw new StackError(`${opts.what} was not ready after ${Math.round(opts.timeoutMs / 1000)} s; read ${opts.logFile}`);
    }
    await sleep(opts.intervalMs ?? 250);
  }
}

/**
 * What a process's heap holds, by kind: V8 heap snapshots of service processes started with
 * `HEAP_SNAPSHOT_DIR=dir` (`--heapsnapshot-signal=SIGUSR2 --diagnostic-dir=dir`), and the growth
 * between two of them grouped by node type and constructor (or function, or "(string)"), in self
 * size. The memory row uses it to say what an idle connection costs.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { sleep } from "../../src/platform/sleep.js";

/** Signals `pid` to write a heap snapshot into `dir` and resolves with its path once it is complete. */
export async function takeHeapSnapshot(pid: number, dir: string, timeoutMs = 120_000): Promise<string> {
  const mine = () => new Set(readdirSync(dir).filter((f) => f.endsWith(".heapsnapshot") && f.split(".")[3] === String(pid)));
  const before = mine();
  process.kill(pid, "SIGUSR2");
  let lastSize = -1;
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await sleep(500)) {
    const file = [...mine()].find((f) => !before.has(f));
    if (file === undefined) continue;
    const size = statSync(join(dir, file)).size;
    // The process writes the file synchronously: once it stops growing, it is whole.
    if (size > 0 && size === lastSize) return join(dir, file);
    lastSize = size;
  }
  throw new Error(`process ${pid} wrote no heap snapshot into ${dir} within ${timeoutMs / 1000} s`);
}

export interface HeapGroup {
  /** "<node type>: <constructor or name>", e.g. "object: WebSocket", "closure: onMessage", "string". */
  readonly group: string;
  readonly count: number;
  readonly bytes: number;
}

interface SnapshotJson {
  readonly snapshot: { readonly meta: { readonly node_fields: string[]; readonly node_types: [string[], ...unknown[]] } };
  readonly nodes: number[];
  readonly strings: string[];
}

/** Self size and count per group of one snapshot file. */
function groups(file: string): Map<string, { count: number; bytes: number }> {
  const json = JSON.parse(readFileSync(file, "utf8")) as SnapshotJson;
  const fields = json.snapshot.meta.node_fields;
  const [typeNames] = json.snapshot.meta.node_types;
  const stride = fields.length;
  const [typeAt, nameAt, sizeAt] = ["type", "name", "self_size"].map((f) => fields.indexOf(f)) as [number, number, number];
  const result = new Map<string, { count: number; bytes: number }>();
  for (let i = 0; i < json.nodes.length; i += stride) {
    const type = typeNames[json.nodes[i + typeAt]!] ?? "?";
    // Strings, numbers and code are grouped by type alone: their names are their contents.
    const named = type === "object" || type === "closure" || type === "native" || type === "hidden" || type === "array";
    const group = named ? `${type}: ${json.strings[json.nodes[i + nameAt]!] ?? "?"}` : type;
    const entry = result.get(group) ?? { count: 0, bytes: 0 };
    entry.count += 1;
    entry.bytes += json.nodes[i + sizeAt]!;
    result.set(group, entry);
  }
  return result;
}

/** The groups that grew from `before` to `after`, largest growth first. */
export function heapGrowth(before: string, after: string): HeapGroup[] {
  const [a, b] = [groups(before), groups(after)];
  return [...b]
    .map(([group, { count, bytes }]) => ({ group, count: count - (a.get(group)?.count ?? 0), bytes: bytes - (a.get(group)?.bytes ?? 0) }))
    .filter((g) => g.bytes > 0)
    .sort((x, y) => y.bytes - x.bytes);
}

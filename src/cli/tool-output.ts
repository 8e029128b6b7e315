import { SingleBar } from "cli-progress";
import type { ToolRecord } from "./topic-reader.js";

/** JSON that survives what Avro values hold: bytes as base64, 64-bit integers as numbers when safe, else strings. */
export function jsonLine(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) => {
    if (typeof item === "bigint") return Number.isSafeInteger(Number(item)) ? Number(item) : item.toString();
    if (item !== null && typeof item === "object" && (item as { type?: unknown }).type === "Buffer" && Array.isArray((item as { data?: unknown }).data)) {
      return Buffer.from((item as { data: number[] }).data).toString("base64");
    }
    return item;
  });
}

/** An epoch-milliseconds time as ISO 8601, or `-`. */
export const isoTime = (ms: number | undefined): string => (ms === undefined ? "-" : new Date(ms).toISOString());

/** A record as one object for `--json`: its place, key, headers, record name and decoded value (or why it was not decoded). */
export function recordJson(record: ToolRecord): Record<string, unknown> {
  return {
    topic: record.topic,
    partition: record.partition,
    offset: record.offset,
    timestamp: isoTime(record.timestamp),
    key: record.key,
    ...(Object.keys(record.headers).length > 0 ? { headers: record.headers } : {}),
    record: record.fullName ?? null,
    ...(record.error === undefined ? { value: record.value } : { error: record.error, raw: record.raw?.toString("base64") ?? null }),
  };
}

/** A record on one line for people: `topic/partition@offset time key=… Record {value}`. */
export function recordText(record: ToolRecord): string {
  const body = record.error === undefined ? `${record.fullName ?? "?"} ${jsonLine(record.value)}` : `(undecodable: ${record.error})`;
  return `${record.topic}/${record.partition}@${record.offset} ${isoTime(record.timestamp)} key=${record.key ?? "null"} ${body}`;
}

/** Prints `record` as a JSON line or a text line. */
export function printRecord(record: ToolRecord, json: boolean): void {
  console.log(json ? jsonLine(recordJson(record)) : recordText(record));
}

/** A progress bar on stderr when it is a terminal, nothing otherwise (pipes and logs stay clean). */
export interface Progress {
  update(done: number, payload?: Record<string, unknown>): void;
  stop(): void;
}

/** A progress bar of `total` steps labelled `label`; `extra` adds `{name}` payload fields to the line. */
export function progressBar(label: string, total: number, extra = ""): Progress {
  if (process.stderr.isTTY !== true || total <= 0) return { update: () => undefined, stop: () => undefined };
  const bar = new SingleBar({ format: `${label} [{bar}] {percentage}% | {value}/{total} offsets${extra}`, clearOnComplete: false, stream: process.stderr });
  let started = false;
  return {
    update(done, payload = {}) {
      if (!started) bar.start(total, 0, payload);
      started = true;
      bar.update(done, payload);
    },
    stop: () => {
      if (started) bar.stop();
    },
  };
}

/** Rows as aligned columns, the first row the header; `right(column)` right-aligns a column (numbers). */
export function formatTable(rows: readonly (readonly string[])[], right: (column: number) => boolean = () => false): string[] {
  const widths = (rows[0] ?? []).map((_, column) => Math.max(...rows.map((row) => (row[column] ?? "").length)));
  return rows.map((row) => row.map((cell, column) => (right(column) ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!))).join("  "));
}

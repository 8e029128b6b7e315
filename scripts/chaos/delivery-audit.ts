/**
 * What the §11 guarantee means, checked from the outside: every acknowledged clientMsgId is in
 * history exactly once, at the seq and id it was acknowledged with; history's seqs run 1..N
 * without gap or repeat; every receiver saw exactly 1..N, in order. Counts are cumulative over
 * the run: a step is charged with what appeared since the previous check.
 */
import type { Ack } from "./message-load.js";

export interface HistoryRow {
  readonly id: string;
  readonly seq: number;
  readonly clientMsgId: string | null;
}

const PAGE = 200;

/** Every message of a conversation, paged through `GET /api/conversations/:id/messages?after_seq=&limit=`. */
export async function readHistory(base: string, token: string, conversationId: string): Promise<HistoryRow[]> {
  const rows: HistoryRow[] = [];
  for (;;) {
    const page = await historyPage(base, token, conversationId, rows.at(-1)?.seq ?? 0, PAGE);
    rows.push(...page);
    if (page.length < PAGE) return rows;
  }
}

export async function historyPage(base: string, token: string, conversationId: string, afterSeq: number, limit: number): Promise<HistoryRow[]> {
  const response = await fetch(`${base}/api/conversations/${conversationId}/messages?after_seq=${afterSeq}&limit=${limit}`, {
    headers: { authorization: `Bearer ${token}` },
    signal: AbortSignal.timeout(10_000),
  });
  if (response.status !== 200) throw new Error(`history of ${conversationId}: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { messages: HistoryRow[] }).messages;
}

/** What is wrong with one conversation's history, given the acknowledgements so far. */
export interface HistoryFindings {
  readonly rows: number;
  readonly lastSeq: number;
  /** Acknowledged clientMsgIds absent from history. */
  readonly missing: string[];
  /** Acknowledged clientMsgIds whose row has another seq or id than acknowledged. */
  readonly mismatched: string[];
  /** clientMsgIds present more than once. */
  readonly duplicatedClientMsgIds: string[];
  /** Seqs present more than once, and seqs absent below the last one. */
  readonly duplicatedSeqs: number[];
  readonly gaps: number[];
}

export function auditHistory(rows: readonly HistoryRow[], acks: readonly Ack[]): HistoryFindings {
  const byClientId = new Map<string, HistoryRow[]>();
  const seqCount = new Map<number, number>();
  for (const row of rows) {
    if (row.clientMsgId !== null) byClientId.set(row.clientMsgId, [...(byClientId.get(row.clientMsgId) ?? []), row]);
    seqCount.set(row.seq, (seqCount.get(row.seq) ?? 0) + 1);
  }
  const lastSeq = rows.reduce((max, row) => Math.max(max, row.seq), 0);
  const gaps: number[] = [];
  for (let seq = 1; seq <= lastSeq; seq++) if (!seqCount.has(seq)) gaps.push(seq);
  const missing: string[] = [];
  const mismatched: string[] = [];
  for (const ack of acks) {
    const found = byClientId.get(ack.clientMsgId);
    if (found === undefined) missing.push(ack.clientMsgId);
    else if (!found.some((row) => row.seq === ack.seq && row.id === ack.id)) mismatched.push(ack.clientMsgId);
  }
  return {
    rows: rows.length,
    lastSeq,
    missing,
    mismatched,
    duplicatedClientMsgIds: [...byClientId].filter(([, found]) => found.length > 1).map(([id]) => id),
    duplicatedSeqs: [...seqCount].filter(([, n]) => n > 1).map(([seq]) => seq),
    gaps,
  };
}

/** What one receiver was shown, against 1..N. */
export interface ReceiverFindings {
  readonly seen: number;
  readonly lastSeq: number;
  /** Seqs shown more than once (each extra showing counts). */
  readonly duplicates: number;
  /** Seqs at or below `upTo` never shown. */
  readonly missing: number;
  /** Exactly 1, 2, 3, …: no repeat, no gap, no reordering. */
  readonly inOrder: boolean;
  /** The first position where the sequence went wrong, for the report. */
  readonly firstDisorder: { index: number; expected: number; got: number } | undefined;
}

export function auditReceiver(seen: readonly number[], upTo: number): ReceiverFindings {
  const unique = new Set(seen);
  let missing = 0;
  for (let seq = 1; seq <= upTo; seq++) if (!unique.has(seq)) missing += 1;
  const wrong = seen.findIndex((seq, index) => seq !== index + 1);
  return {
    seen: seen.length,
    lastSeq: seen.reduce((max, seq) => Math.max(max, seq), 0),
    duplicates: seen.length - unique.size,
    missing,
    inOrder: wrong < 0 && missing === 0,
    firstDisorder: wrong < 0 ? undefined : { index: wrong, expected: wrong + 1, got: seen[wrong]! },
  };
}

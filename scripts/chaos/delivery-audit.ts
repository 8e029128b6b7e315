/**
 * What the §11 guarantee means, checked from the outside: every acknowledged clientMsgId is in
 * history exactly once, at the seq and id it was acknowledged with; history's seqs run 1..N
 * without gap or repeat; every receiver saw exactly 1..N, in order. Counts are cumulative over
 * the run: a step is charged with what appeared since the previous check.
 */
import type { Ack, Receiver } from "./message-load.js";
import { sleep } from "../../src/platform/sleep.js";

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

/** What went wrong so far in the run, cumulative, as keys: a step is charged with the keys it added. */
export interface DeliveryTally {
  /** Acknowledged clientMsgIds absent from history, or at another seq or id. */
  readonly lost: ReadonlySet<string>;
  /** `<conversation>/<clientMsgId>` and `<conversation>#<seq>` present more than once in history. */
  readonly historyDuplicates: ReadonlySet<string>;
  /** `<conversation>#<seq>` absent below the conversation's last seq. */
  readonly gaps: ReadonlySet<string>;
  /** Extra showings of a seq, summed over receivers (a receiver's record only grows). */
  readonly receiverDuplicates: number;
}

export const NOTHING_WRONG: DeliveryTally = { lost: new Set(), historyDuplicates: new Set(), gaps: new Set(), receiverDuplicates: 0 };

/** `tally` with what `found` shows wrong in conversation `conversationId`. */
export function tallyHistory(tally: DeliveryTally, conversationId: string, found: HistoryFindings): DeliveryTally {
  return {
    ...tally,
    lost: new Set([...tally.lost, ...found.missing, ...found.mismatched]),
    historyDuplicates: new Set([
      ...tally.historyDuplicates,
      ...found.duplicatedClientMsgIds.map((clientMsgId) => `${conversationId}/${clientMsgId}`),
      ...found.duplicatedSeqs.map((seq) => `${conversationId}#${seq}`),
    ]),
    gaps: new Set([...tally.gaps, ...found.gaps.map((seq) => `${conversationId}#${seq}`)]),
  };
}

/** What `now` holds beyond `before`, and the problem lines it makes for the step. */
export function deliveryFaultsSince(before: DeliveryTally, now: DeliveryTally) {
  const added = (after: ReadonlySet<string>, prior: ReadonlySet<string>) => [...after].filter((key) => !prior.has(key));
  const lost = added(now.lost, before.lost);
  const historyDuplicates = added(now.historyDuplicates, before.historyDuplicates);
  const gaps = added(now.gaps, before.gaps);
  const receiverDuplicates = Math.max(0, now.receiverDuplicates - before.receiverDuplicates);
  const problems: string[] = [];
  if (lost.length > 0) problems.push(`${lost.length} acknowledged messages not in history (or at another seq/id): ${lost.slice(0, 5).join(", ")}`);
  if (historyDuplicates.length > 0) problems.push(`history duplicates: ${historyDuplicates.slice(0, 5).join(", ")}`);
  if (gaps.length > 0) problems.push(`history seq gaps: ${gaps.slice(0, 5).join(", ")}`);
  if (receiverDuplicates > 0) problems.push(`${receiverDuplicates} seqs shown twice to receivers`);
  return { lost, historyDuplicates, gaps, receiverDuplicates, problems };
}

/** What a check looks at: the conversations, what their senders had acknowledged, who receives. */
export interface DeliveryScene {
  readonly conversations: readonly { readonly id: string; readonly owner: string }[];
  readonly acks: readonly Ack[];
  readonly receivers: readonly Receiver[];
  /** A gateway answering REST now: asked before every request, as gateways restart. */
  restBase(): string;
  token(user: string): Promise<string>;
}

/** How long a check waits for history to hold the last acknowledged seq, then for receivers to have been shown it. */
export interface CheckBounds {
  readonly historyMs: number;
  readonly receiversMs: number;
}

export type HistorySummary = Omit<HistoryFindings, "missing" | "mismatched" | "duplicatedClientMsgIds"> & {
  readonly acks: number;
  readonly missing: number;
  readonly mismatched: number;
  readonly duplicatedClientMsgIds: number;
};

export type ReceiverSummary = ReceiverFindings & {
  readonly user: string;
  readonly gateway: string;
  readonly conversationId: string;
  readonly target: number;
  readonly joins: number;
  readonly unrecovered: number;
  readonly restPages: number;
};

export interface DeliveryCheck {
  readonly tally: DeliveryTally;
  readonly history: Record<string, HistorySummary>;
  readonly receivers: ReceiverSummary[];
  /** What the check could not establish in its bounds (history behind or unreadable, a receiver behind or out of order). */
  readonly problems: string[];
  /** For each conversation whose history is wrong, the first few rows and acknowledgements concerned. */
  readonly evidence: Record<string, unknown>;
}

/** One conversation's history once it holds seq `target` (or the bound ran out), read whole and audited. */
async function checkHistory(scene: DeliveryScene, conversationId: string, owner: string, acks: readonly Ack[], target: number, boundMs: number) {
  const problems: string[] = [];
  const authorization = await scene.token(owner);
  const deadline = Date.now() + boundMs;
  let caughtUp = target === 0;
  while (!caughtUp && Date.now() < deadline) {
    caughtUp = (await historyPage(scene.restBase(), authorization, conversationId, target - 1, 1).catch(() => [])).length > 0;
    if (!caughtUp) await sleep(250);
  }
  if (!caughtUp) problems.push(`history of ${conversationId} did not reach acknowledged seq ${target} within ${boundMs / 1000} s`);
  let rows: HistoryRow[] | undefined;
  for (let attempt = 1; rows === undefined && attempt <= 10; attempt++) {
    rows = await readHistory(scene.restBase(), authorization, conversationId).catch(async (error: unknown) => {
      if (attempt === 10) problems.push(`history of ${conversationId} could not be read (its ${acks.length} acknowledgements are unchecked): ${String(error)}`);
      await sleep(3_000);
      return undefined;
    });
  }
  return { problems, rows, found: rows === undefined ? undefined : auditHistory(rows, acks) };
}

function evidenceOf(found: HistoryFindings, rows: readonly HistoryRow[], acks: readonly Ack[]) {
  const rowsOf = (clientMsgId: string) => rows.filter((row) => row.clientMsgId === clientMsgId);
  return {
    missing: found.missing.slice(0, 20),
    mismatched: found.mismatched.slice(0, 20).map((clientMsgId) => ({ ack: acks.find((ack) => ack.clientMsgId === clientMsgId), rows: rowsOf(clientMsgId) })),
    duplicatedClientMsgIds: found.duplicatedClientMsgIds.slice(0, 20).map(rowsOf),
    duplicatedSeqs: found.duplicatedSeqs.slice(0, 20),
    gaps: found.gaps.slice(0, 20),
  };
}

/**
 * Checks every message acknowledged so far against history and every receiver against 1..N (N
 * the conversation's last acknowledged seq), waiting within `bounds` for the read model and the
 * receivers to catch up; `previous` is the tally of the previous check.
 */
export async function checkDelivery(scene: DeliveryScene, previous: DeliveryTally, bounds: CheckBounds): Promise<DeliveryCheck> {
  const targets = new Map(scene.conversations.map(({ id }) => [id, scene.acks.filter((ack) => ack.conversationId === id).reduce((max, ack) => Math.max(max, ack.seq), 0)]));
  const checked = await Promise.all(
    scene.conversations.map(async ({ id, owner }) => {
      const acks = scene.acks.filter((ack) => ack.conversationId === id);
      return { id, acks, ...(await checkHistory(scene, id, owner, acks, targets.get(id)!, bounds.historyMs)) };
    }),
  );
  const problems = checked.flatMap((conversation) => conversation.problems);
  const history: Record<string, HistorySummary> = {};
  const evidence: Record<string, unknown> = {};
  let tally = previous;
  for (const { id, acks, rows, found } of checked) {
    if (rows === undefined || found === undefined) continue;
    tally = tallyHistory(tally, id, found);
    const { missing, mismatched, duplicatedClientMsgIds, ...rest } = found;
    history[id] = { ...rest, acks: acks.length, missing: missing.length, mismatched: mismatched.length, duplicatedClientMsgIds: duplicatedClientMsgIds.length };
    if (missing.length + mismatched.length + duplicatedClientMsgIds.length + found.duplicatedSeqs.length + found.gaps.length > 0) evidence[id] = evidenceOf(found, rows, acks);
  }
  // Live load keeps flowing, so a stalled feed is repaired by the next message.
  const deadline = Date.now() + bounds.receiversMs;
  while (scene.receivers.some((r) => r.lastSeq < (targets.get(r.conversationId) ?? 0)) && Date.now() < deadline) await sleep(200);
  const receivers = scene.receivers.map((r): ReceiverSummary => {
    const target = targets.get(r.conversationId) ?? 0;
    return { user: r.user, gateway: r.gateway, conversationId: r.conversationId, target, joins: r.joins, unrecovered: r.unrecovered, restPages: r.restPages, ...auditReceiver(r.seen, target) };
  });
  for (const r of receivers) {
    if (r.missing > 0) problems.push(`${r.user} (${r.gateway}) lacks ${r.missing} of seqs 1..${r.target} after ${bounds.receiversMs / 1000} s (last seen ${r.lastSeq})`);
    else if (!r.inOrder) problems.push(`${r.user} (${r.gateway}) saw seqs out of order or twice: first at index ${r.firstDisorder?.index}, expected ${r.firstDisorder?.expected}, got ${r.firstDisorder?.got}`);
  }
  tally = { ...tally, receiverDuplicates: receivers.reduce((sum, r) => sum + r.duplicates, 0) };
  return { tally, history, receivers, problems, evidence };
}

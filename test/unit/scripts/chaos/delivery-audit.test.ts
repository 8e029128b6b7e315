import { describe, expect, it } from "vitest";
import { auditHistory, auditReceiver, deliveryFaultsSince, NOTHING_WRONG, tallyHistory, type HistoryRow } from "../../../../scripts/chaos/delivery-audit.js";
import type { Ack } from "../../../../scripts/chaos/message-load.js";

const ack = (clientMsgId: string, seq: number, id = `m${seq}`): Ack => ({
  clientMsgId,
  conversationId: "c1",
  id,
  seq,
  firstSentAt: 0,
  attemptSentAt: 0,
  ackAt: 0,
  attempts: 1,
});
const row = (seq: number, clientMsgId: string | null, id = `m${seq}`): HistoryRow => ({ id, seq, clientMsgId });

describe("a conversation's history against its acknowledgements", () => {
  it("finds nothing wrong when every acknowledged message is there once, at its seq and id", () => {
    const found = auditHistory([row(1, "a"), row(2, "b")], [ack("a", 1), ack("b", 2)]);
    expect(found).toEqual({ rows: 2, lastSeq: 2, missing: [], mismatched: [], duplicatedClientMsgIds: [], duplicatedSeqs: [], gaps: [] });
  });

  it("counts an acknowledged message absent from history as missing, and one at another seq as mismatched", () => {
    const found = auditHistory([row(1, "a"), row(2, "x"), row(3, "b")], [ack("a", 1), ack("b", 2), ack("c", 4)]);
    expect(found.missing).toEqual(["c"]);
    expect(found.mismatched).toEqual(["b"]);
  });

  it("reports a message stored twice and a seq used twice or skipped", () => {
    const found = auditHistory([row(1, "a"), row(2, "a"), row(2, "b"), row(5, "c")], [ack("a", 1)]);
    expect(found.duplicatedClientMsgIds).toEqual(["a"]);
    expect(found.duplicatedSeqs).toEqual([2]);
    expect(found.gaps).toEqual([3, 4]);
  });
});

describe("what a receiver was shown", () => {
  it("is in order when it saw exactly 1..N", () => {
    expect(auditReceiver([1, 2, 3], 3)).toMatchObject({ seen: 3, lastSeq: 3, duplicates: 0, missing: 0, inOrder: true, firstDisorder: undefined });
  });

  it("is not in order when a seq came twice, and says where", () => {
    expect(auditReceiver([1, 2, 2, 3], 3)).toMatchObject({ duplicates: 1, missing: 0, inOrder: false, firstDisorder: { index: 2, expected: 3, got: 2 } });
  });

  it("counts the seqs up to the target it never saw", () => {
    expect(auditReceiver([1, 3], 4)).toMatchObject({ missing: 2, inOrder: false });
  });
});

describe("when a step follows a check that already found problems", () => {
  const first = tallyHistory(NOTHING_WRONG, "c1", auditHistory([row(1, "a"), row(1, "a")], [ack("a", 1), ack("b", 2)]));

  it("charges the first step with everything it found", () => {
    const charged = deliveryFaultsSince(NOTHING_WRONG, first);
    expect(charged.lost).toEqual(["b"]);
    expect(charged.historyDuplicates).toEqual(["c1/a", "c1#1"]);
    expect(charged.problems).toEqual(["1 acknowledged messages not in history (or at another seq/id): b", "history duplicates: c1/a, c1#1"]);
  });

  it("charges the next step only with what is new", () => {
    const second = { ...tallyHistory(first, "c2", auditHistory([row(2, "z")], [])), receiverDuplicates: 3 };
    const charged = deliveryFaultsSince(first, second);
    expect(charged.lost).toEqual([]);
    expect(charged.historyDuplicates).toEqual([]);
    expect(charged.gaps).toEqual(["c2#1"]);
    expect(charged.problems).toEqual(["history seq gaps: c2#1", "3 seqs shown twice to receivers"]);
  });

  it("charges nothing when nothing new went wrong", () => {
    expect(deliveryFaultsSince(first, first).problems).toEqual([]);
  });
});

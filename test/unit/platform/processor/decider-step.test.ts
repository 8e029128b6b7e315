import { describe, expect, it } from "vitest";
import {
  decodeSnapshot,
  encodeSnapshot,
  remember,
  SnapshotFormatError,
  type AggregateSnapshot,
  type DedupeWindow,
  type RememberedOutcome,
  type RememberedOutcomes,
} from "../../../../src/platform/processor/aggregate-snapshot.js";
import { stepCommand, type CommandStep } from "../../../../src/platform/processor/command-step.js";
import { conversationsProcessor } from "../../../support/processor-membership-definition.js";
import type { ConversationCommand } from "../../../../src/contexts/conversations/domain/membership/commands.js";
import type { ConversationEvent } from "../../../../src/contexts/conversations/domain/membership/events.js";
import type { ConversationState } from "../../../../src/contexts/conversations/domain/membership/state.js";
import { commandMeta } from "../../../support/processor-decider-spec.js";

const window: DedupeWindow = { maxEntries: 3, maxAgeMs: 60_000 };
const T0 = 1_700_000_000_000;

const create = (commandId: string, replyTo: string | null = "gw-1"): ConversationCommand => ({
  type: "CreateConversation",
  data: {
    meta: commandMeta({ commandId, correlationId: `corr-${commandId}`, issuedAt: T0, replyTo }),
    conversationId: "c1",
    type: "group",
    title: "Team",
    description: null,
    memberIds: ["u2"],
  },
});
const add = (commandId: string, userId: string, actorId = "u1", issuedAt = T0 + 1_000): ConversationCommand => ({
  type: "AddMember",
  data: { meta: commandMeta({ commandId, actorId, issuedAt }), conversationId: "c1", userId, role: "member" },
});

type Step = CommandStep<ConversationEvent, ConversationState>;
const step = (snapshot: AggregateSnapshot<ConversationState> | undefined, command: ConversationCommand, definition = conversationsProcessor): Step =>
  stepCommand(definition, snapshot, command, window);

function accepted(result: Step): Extract<Step, { kind: "accepted" }> {
  if (result.kind !== "accepted") throw new Error(`expected accepted, got ${result.kind}`);
  return result;
}

describe("processing one command", () => {
  describe("when the aggregate has no history", () => {
    it("fills each event's meta from the command, deterministically", () => {
      const first = accepted(step(undefined, create("k1")));
      expect(first.events.map((event) => event.data.meta)).toEqual([
        { eventId: "k1:0", occurredAt: T0, correlationId: "corr-k1", causationId: "k1", actorId: "u1", workspaceId: "w1" },
      ]);
      expect(accepted(step(undefined, create("k1"))).events).toEqual(first.events);
    });

    it("answers ok with the definition's result and starts a snapshot at the event count", () => {
      const result = accepted(step(undefined, create("k1")));
      expect(result.outcome).toEqual({ commandId: "k1", ok: true, result: { conversationId: "c1" } });
      expect(result.snapshot).toMatchObject({ version: 1, state: { status: "active" }, outcomes: [[{ issuedAt: T0, outcome: result.outcome }]] });
    });

    it("leaves no snapshot behind for a rejection", () => {
      const result = step(undefined, add("k2", "u3"));
      expect(result).toEqual({
        kind: "rejected",
        snapshot: undefined,
        outcome: { commandId: "k2", ok: false, error: { code: "not_found", message: "no such conversation" } },
      });
    });

    it("reports what the decider throws unexpectedly as a failure", () => {
      const broken = {
        ...conversationsProcessor,
        decider: { ...conversationsProcessor.decider, decide: () => { throw new TypeError("boom"); } },
      };
      const result = step(undefined, create("k1"), broken);
      expect(result.kind).toBe("failed");
      expect(result.kind === "failed" && result.error.message).toBe("boom");
    });
  });

  describe("when the aggregate exists", () => {
    const existing = accepted(step(undefined, create("k1"))).snapshot!;

    it("answers a retried command with its first outcome and decides nothing", () => {
      expect(step(existing, create("k1"))).toEqual({ kind: "duplicate", outcome: existing.outcomes[0]![0]!.outcome });
    });

    it("remembers a rejection, so that the retry is rejected the same way", () => {
      const rejected = step(existing, add("k2", "u4", "u9"));
      expect(rejected.kind).toBe("rejected");
      if (rejected.kind !== "rejected") return;
      expect(rejected.snapshot).toMatchObject({ version: 1, state: existing.state });
      expect(step(rejected.snapshot, add("k2", "u4", "u1"))).toEqual({ kind: "duplicate", outcome: rejected.outcome });
    });

    it("remembers an idempotent no-op without changing the version", () => {
      const noop = accepted(step(existing, add("k3", "u2")));
      expect(noop.events).toEqual([]);
      expect(noop.snapshot).toMatchObject({ version: 1, state: existing.state });
      expect(noop.snapshot!.outcomes.flat().map(({ outcome }) => outcome.commandId)).toEqual(["k1", "k3"]);
    });

    it("numbers the aggregate's events", () => {
      expect(accepted(step(existing, add("k4", "u3"))).snapshot).toMatchObject({ version: 2, state: { members: { u3: "member" } } });
    });
  });
});

describe("the dedupe window", () => {
  const entry = (commandId: string, issuedAt: number): RememberedOutcome => ({ issuedAt, outcome: { commandId, ok: true, result: {} } });
  const ids = (outcomes: RememberedOutcomes) => outcomes.flat().map(({ outcome }) => outcome.commandId);

  it("keeps the newest entries up to its size", () => {
    let outcomes: RememberedOutcomes = [[entry("a", T0)]];
    for (const id of ["b", "c", "d"]) outcomes = remember(outcomes, entry(id, T0), window);
    expect(ids(outcomes)).toEqual(["b", "c", "d"]);
  });

  it("forgets outcomes older than its age, measured from the newest command", () => {
    const outcomes = remember([[entry("old", T0)], [entry("recent", T0 + 30_000)]], entry("new", T0 + 61_000), window);
    expect(ids(outcomes)).toEqual(["recent", "new"]);
  });

  it("measures age from the newest command even when a late one arrives", () => {
    const outcomes = remember([[entry("a", T0 + 100_000)]], entry("late", T0), window);
    expect(ids(outcomes)).toEqual(["a"]);
  });

  it("shares its older generations from one snapshot to the next, and forgets a generation at a time", () => {
    const large: DedupeWindow = { maxEntries: 500, maxAgeMs: 60_000 };
    let outcomes: RememberedOutcomes = [];
    for (let i = 0; i < 549; i++) {
      const next = remember(outcomes, entry(`c${i}`, T0 + i), large);
      // Every generation but the newest is the very object the previous snapshot held.
      const shared = next.slice(0, -1).every((generation) => outcomes.includes(generation));
      expect(shared || next.length < outcomes.length).toBe(true);
      outcomes = next;
    }
    expect(outcomes.flat().length).toBeGreaterThanOrEqual(500);
    expect(outcomes.flat().length).toBeLessThan(550);
    expect(ids(outcomes).at(-1)).toBe("c548");
    expect(outcomes.every((generation) => generation.length <= 50)).toBe(true);
  });
});

describe("changelog snapshots", () => {
  it("round-trip through JSON", () => {
    const snapshot = accepted(step(undefined, create("k1"))).snapshot!;
    expect(decodeSnapshot(encodeSnapshot(snapshot)).snapshot).toEqual(snapshot);
  });

  it("still read format 1, whole snapshots written before parts existed", () => {
    const snapshot = accepted(step(undefined, create("k1"))).snapshot!;
    const format1 = Buffer.from(JSON.stringify({ format: 1, version: snapshot.version, state: snapshot.state, outcomes: snapshot.outcomes.flat() }));
    expect(decodeSnapshot(format1).snapshot).toEqual(snapshot);
  });

  it("refuse values they did not write", () => {
    expect(() => decodeSnapshot(Buffer.from("not json"))).toThrow(SnapshotFormatError);
    expect(() => decodeSnapshot(Buffer.from(JSON.stringify({ format: 99, version: 1, state: {}, outcomes: [] })))).toThrow(
      SnapshotFormatError,
    );
  });
});

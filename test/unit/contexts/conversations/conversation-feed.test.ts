import { describe, expect, it } from "vitest";
import { DeltaFanout, type DeltaListener } from "../../../../src/contexts/conversations/channels/delta-fanout.js";
import type { ChannelListener, ChannelSource } from "../../../../src/platform/gateway/pubsub-hub.js";
import { conversationFeed, type DeltaSource, type HistoryReader } from "../../../../src/contexts/conversations/channels/conversation-feed.js";
import { createLogger } from "../../../../src/infra/log/logger.js";
import type { ConversationDelta, HistoryMessage, HistoryRange } from "../../../../src/contexts/conversations/projections/history/history-port.js";

const message = (seq: number): HistoryMessage => ({
  id: `m${seq}`,
  conversationId: "c1",
  seq,
  senderId: "alice",
  type: "text",
  content: `message ${seq}`,
  attachments: [],
  clientMsgId: null,
  replyToMessageId: null,
  sentAt: 1_000 + seq,
  editedAt: null,
  revision: 0,
  deletedAt: null,
  reactions: {},
});
const delta = (seq: number): ConversationDelta => ({ kind: "message_new", conversationId: "c1", seq, message: message(seq) });

/** History holding messages 1..head; deltas are pushed by hand. */
function world(head: number) {
  let stored = head;
  const listeners: DeltaListener[] = [];
  const history: HistoryReader = {
    messages: (_id: string, range: HistoryRange) => {
      const all = Array.from({ length: stored }, (_, i) => message(i + 1)).filter(
        (m) => m.seq > (range.afterSeq ?? 0) && m.seq < (range.beforeSeq ?? Infinity),
      );
      return Promise.resolve(all.slice(0, range.limit));
    },
    lastSeq: () => Promise.resolve(stored),
  };
  const source: DeltaSource = {
    listen: (_id, listener) => {
      listeners.push(listener);
      return Promise.resolve(() => listeners.splice(listeners.indexOf(listener), 1));
    },
  };
  const seen: number[] = [];
  const feed = conversationFeed(source, history, createLogger({ level: "silent", name: "test" }), { maxRecovery: 5 });
  const open = (params: Record<string, unknown> = {}) =>
    feed.open("c1", params, (kind, payload) => {
      if (kind === "message_new") seen.push(payload.seq as number);
    });
  const settle = () => new Promise((resolve) => setTimeout(resolve, 10));
  return {
    open,
    seen,
    settle,
    publish: (seq: number) => {
      stored = Math.max(stored, seq);
      for (const listener of listeners) listener.onDelta(delta(seq));
    },
    resync: () => listeners.forEach((listener) => listener.onResync()),
    grow: (seq: number) => (stored = seq),
    listeners,
  };
}

describe("a conversation feed", () => {
  it("starts at the head without a cursor and delivers live messages", async () => {
    const w = world(3);
    expect((await w.open()).response).toEqual({ last_seq: 3 });
    w.publish(4);
    w.publish(5);
    await w.settle();
    expect(w.seen).toEqual([4, 5]);
  });

  it("recovers missed messages in the join reply from a cursor", async () => {
    const w = world(4);
    const { response } = await w.open({ last_seq: 1 });
    expect(response).toMatchObject({ recovered: true, last_seq: 4 });
    expect((response.messages as { seq: number }[]).map((m) => m.seq)).toEqual([2, 3, 4]);
  });

  it("says recovered: false beyond the bound", async () => {
    const w = world(20);
    expect((await w.open({ last_seq: 2 })).response).toEqual({ recovered: false, last_seq: 20 });
  });

  it("fills a gap from history before delivering the message that skipped ahead", async () => {
    const w = world(2);
    await w.open();
    w.grow(5);
    w.publish(6);
    await w.settle();
    expect(w.seen).toEqual([3, 4, 5, 6]);
  });

  it("drops duplicates and stale deliveries", async () => {
    const w = world(2);
    await w.open();
    w.publish(3);
    w.publish(3);
    w.publish(2);
    w.publish(4);
    await w.settle();
    expect(w.seen).toEqual([3, 4]);
  });

  it("catches up after a resubscription even when no new message follows", async () => {
    const w = world(2);
    await w.open();
    w.grow(4);
    w.resync();
    await w.settle();
    expect(w.seen).toEqual([3, 4]);
  });

  it("trusts a cursor ahead of history (a sender's own seq arrives before the projection writes it)", async () => {
    const w = world(3);
    expect((await w.open({ last_seq: 4 })).response).toMatchObject({ last_seq: 4, recovered: true, messages: [] });
    w.publish(4);
    w.publish(5);
    await w.settle();
    expect(w.seen).toEqual([5]);
  });

  it("delivers what arrives while the join is answered, after the join", async () => {
    const w = world(3);
    const opening = w.open();
    w.publish(4);
    expect(w.seen).toEqual([]);
    expect((await opening).response).toEqual({ last_seq: 4 });
    w.publish(5);
    await w.settle();
    expect(w.seen).toEqual([5]);
  });

  it("stops listening when closed", async () => {
    const w = world(0);
    const feed = await w.open();
    expect(w.listeners).toHaveLength(1);
    feed.close();
    expect(w.listeners).toHaveLength(0);
  });
});

describe("a gateway's delta fan-out", () => {
  it("parses each pub/sub message once and hands every listener the same frozen payload", async () => {
    const listeners: ChannelListener[] = [];
    const hub: ChannelSource = {
      listen: (_channel: string, listener: ChannelListener) => {
        listeners.push(listener);
        return Promise.resolve(() => undefined);
      },
    };
    const fanout = new DeltaFanout(hub, "p.", createLogger({ level: "silent", name: "test" }));
    const delivered: Record<string, unknown>[] = [];
    const history: HistoryReader = { messages: () => Promise.resolve([]), lastSeq: () => Promise.resolve(0) };
    const feed = conversationFeed(fanout, history, createLogger({ level: "silent", name: "test" }));
    for (let i = 0; i < 3; i++) await feed.open("c1", {}, (_kind, payload) => delivered.push(payload));
    const message: HistoryMessage = {
      id: "m1", conversationId: "c1", seq: 1, senderId: "u1", type: "text", content: "hi", attachments: [],
      clientMsgId: null, replyToMessageId: null, sentAt: 1, editedAt: null, revision: 0, deletedAt: null, reactions: {},
    };
    const text = JSON.stringify({ kind: "message_new", conversationId: "c1", seq: 1, message } satisfies ConversationDelta);
    for (const listener of listeners) listener.onMessage(text);
    await eventuallyLength(delivered, 3);
    expect(delivered[0]).toMatchObject({ id: "m1", seq: 1 });
    expect(delivered[1]).toBe(delivered[0]);
    expect(delivered[2]).toBe(delivered[0]);
    expect(Object.isFrozen(delivered[0])).toBe(true);
  });
});

async function eventuallyLength(items: readonly unknown[], length: number): Promise<void> {
  for (let i = 0; i < 50 && items.length < length; i++) await new Promise((resolve) => setTimeout(resolve, 10));
}

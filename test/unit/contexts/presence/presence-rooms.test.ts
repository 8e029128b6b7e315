import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { ChannelOutlet } from "../../../../src/platform/phoenix/channel.js";
import type { ChannelListener, ChannelSource } from "../../../../src/platform/gateway/pubsub-hub.js";
import { PresenceRooms } from "../../../../src/contexts/presence/channels/presence-rooms.js";
import { presenceDiffChannel, type PresenceDiffDelta, type PresenceEntries } from "../../../../src/contexts/presence/projections/presence/presence-model.js";
import { testLogger } from "../../../support/test-config.js";

class FakeSource implements ChannelSource {
  readonly listeners = new Map<string, Set<ChannelListener>>();
  subscriptions = 0;
  listen(channel: string, listener: ChannelListener) {
    this.subscriptions++;
    const set = this.listeners.get(channel) ?? new Set();
    set.add(listener);
    this.listeners.set(channel, set);
    return Promise.resolve(() => void set.delete(listener));
  }
  publish(channel: string, delta: PresenceDiffDelta) {
    for (const listener of this.listeners.get(channel) ?? []) listener.onMessage(JSON.stringify(delta));
  }
}

const joinOf = (userId: string, ref: string, offset: number): PresenceDiffDelta => ({
  workspaceId: "w1",
  partition: 0,
  offset,
  joins: {
    [userId]: {
      metas: [{ phx_ref: ref, connection_id: ref, device: null, platform: "web", status: "online", status_text: null, online_at: 1 }],
    },
  },
  leaves: {},
});

function recorder() {
  const pushes: { event: string; payload: Record<string, unknown> }[] = [];
  const outlet: ChannelOutlet = { push: (event, payload) => pushes.push({ event, payload }), close: () => undefined };
  return { pushes, outlet };
}

describe("presence rooms", () => {
  const channel = presenceDiffChannel("p.", "w1");
  let source: FakeSource;
  let state: PresenceEntries;
  let rooms: PresenceRooms<string>;
  /** The workspace presence as the presence context serves it, reading its state with `state`. */
  const workspaceRooms = (state: () => Promise<PresenceEntries>) =>
    new PresenceRooms<string>(source, { channelOf: (workspaceId) => presenceDiffChannel("p.", workspaceId), state }, 100, testLogger(), () => clock);
  let clock = 1_000;

  beforeEach(() => {
    vi.useFakeTimers();
    source = new FakeSource();
    state = {};
    clock = 1_000;
    rooms = workspaceRooms(() => Promise.resolve(state));
  });
  afterEach(() => vi.useRealTimers());

  it("sends each join one presence_state, then the diffs", async () => {
    const a = recorder();
    await rooms.enter("w1", a.outlet);
    source.publish(channel, joinOf("u1", "r1", 1));
    await vi.advanceTimersByTimeAsync(0);
    expect(a.pushes.map((p) => p.event)).toEqual(["presence_state", "presence_diff"]);
  });

  it("sends the first change at once and merges the changes of the next window into one diff", async () => {
    const watchers = [recorder(), recorder(), recorder()];
    for (const watcher of watchers) await rooms.enter("w1", watcher.outlet);
    source.publish(channel, joinOf("u1", "r1", 1));
    await vi.advanceTimersByTimeAsync(0);
    for (let user = 2; user <= 500; user++) source.publish(channel, joinOf(`u${user}`, `r${user}`, user));
    clock += 100;
    await vi.advanceTimersByTimeAsync(100);
    for (const watcher of watchers) {
      const diffs = watcher.pushes.filter((p) => p.event === "presence_diff");
      expect(diffs).toHaveLength(2);
      expect(Object.keys(diffs[1]!.payload.joins as object)).toHaveLength(499);
    }
    // One subscription per workspace, however many sockets joined.
    expect(source.subscriptions).toBe(1);
  });

  it("holds the diffs flushed while a join reads its state until the state is out", async () => {
    let release!: (entries: PresenceEntries) => void;
    rooms = workspaceRooms(() => new Promise((resolve) => (release = resolve)));
    const a = recorder();
    const entering = rooms.enter("w1", a.outlet);
    await vi.advanceTimersByTimeAsync(0);
    source.publish(channel, joinOf("u1", "r1", 1));
    await vi.advanceTimersByTimeAsync(0);
    expect(a.pushes).toEqual([]);
    release({});
    await entering;
    expect(a.pushes.map((p) => p.event)).toEqual(["presence_state", "presence_diff"]);
  });

  it("sends every member a fresh presence_state when the projection says it caught up silently", async () => {
    const a = recorder();
    await rooms.enter("w1", a.outlet);
    state = { u9: { metas: [] } };
    source.publish(channel, { workspaceId: "w1", partition: -1, offset: -1, joins: {}, leaves: {}, resync: true });
    await vi.advanceTimersByTimeAsync(0);
    expect(a.pushes.map((p) => p.event)).toEqual(["presence_state", "presence_state"]);
    expect(a.pushes[1]!.payload).toEqual({ u9: { metas: [] } });
  });

  it("sends the diffs that arrive while a resync reads the state after that state, not before it", async () => {
    const reads: ((entries: PresenceEntries) => void)[] = [];
    rooms = workspaceRooms(() => new Promise((resolve) => reads.push(resolve)));
    const a = recorder();
    const entering = rooms.enter("w1", a.outlet);
    await vi.advanceTimersByTimeAsync(0);
    reads.shift()!({});
    await entering;
    source.publish(channel, { workspaceId: "w1", partition: -1, offset: -1, joins: {}, leaves: {}, resync: true });
    // u1 joins after the resync's read reached Redis: the state read does not hold u1.
    source.publish(channel, joinOf("u1", "r1", 1));
    await vi.advanceTimersByTimeAsync(200);
    expect(a.pushes.map((p) => p.event)).toEqual(["presence_state"]);
    reads.shift()!({});
    await vi.advanceTimersByTimeAsync(0);
    // A presence_diff before the state would be undone by it: the watcher would lose u1.
    expect(a.pushes.map((p) => p.event)).toEqual(["presence_state", "presence_state", "presence_diff"]);
    expect(Object.keys(a.pushes[2]!.payload.joins as object)).toEqual(["u1"]);
  });

  it("unsubscribes when the last member leaves", async () => {
    const leave = await rooms.enter("w1", recorder().outlet);
    expect(rooms.size).toBe(1);
    leave();
    expect(rooms.size).toBe(0);
    await vi.advanceTimersByTimeAsync(0);
    expect(source.listeners.get(channel)?.size).toBe(0);
  });

  it("keeps a room per key: a topic's viewers see that topic's diffs only", async () => {
    const states: Record<string, PresenceEntries> = { "w1\0comments:a": { u1: { metas: [] } }, "w1\0comments:b": {} };
    const viewers = new PresenceRooms<{ workspaceId: string; topic: string }>(
      source,
      { channelOf: ({ workspaceId, topic }) => `p.viewers:${workspaceId}:${topic}`, state: ({ workspaceId, topic }) => Promise.resolve(states[`${workspaceId}\0${topic}`] ?? {}) },
      100,
      testLogger(),
      () => clock,
    );
    const [a, b, alsoA] = [recorder(), recorder(), recorder()];
    await viewers.enter({ workspaceId: "w1", topic: "comments:a" }, a.outlet);
    await viewers.enter({ workspaceId: "w1", topic: "comments:b" }, b.outlet);
    await viewers.enter({ workspaceId: "w1", topic: "comments:a" }, alsoA.outlet);
    expect(viewers.size).toBe(2);
    source.publish("p.viewers:w1:comments:a", joinOf("u2", "r2", 1));
    await vi.advanceTimersByTimeAsync(0);
    expect(a.pushes).toEqual([{ event: "presence_state", payload: { u1: { metas: [] } } }, { event: "presence_diff", payload: { joins: joinOf("u2", "r2", 1).joins, leaves: {} } }]);
    expect(alsoA.pushes).toEqual(a.pushes);
    expect(b.pushes).toEqual([{ event: "presence_state", payload: {} }]);
  });
});

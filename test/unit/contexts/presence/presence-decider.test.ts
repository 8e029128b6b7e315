import { describe, expect, it } from "vitest";
import type { DevicePlatform, PresenceStatus } from "../../../../src/platform/contract/generated/avro-types.js";
import { withEventMeta } from "../../../../src/platform/processor/event-meta.js";
import { presenceProcessor, staleConnectionsTimer } from "../../../../src/contexts/presence/processor.js";
import type { PresenceCommand } from "../../../../src/contexts/presence/domain/commands.js";
import { presenceDecider, PRESENCE_LIMITS } from "../../../../src/contexts/presence/domain/decide.js";
import type { DecidedPresenceEvent, PresenceEvent } from "../../../../src/contexts/presence/domain/events.js";
import type { PresenceState } from "../../../../src/contexts/presence/domain/state.js";
import { commandMeta, deciderSpec } from "../../../support/processor-decider-spec.js";

const TTL = 60_000;
/** When the given events happened (the spec helper's command time). */
const T0 = 1_700_000_000_000;
const decider = presenceDecider({ connectionTtlMs: TTL });
const spec = deciderSpec(decider);
/** The close code of an expired token, and the reconnect grace it gets. */
const TOKEN_EXPIRED = 4001;
const GRACE = 10_000;
const graceful = presenceDecider({ connectionTtlMs: TTL, reconnectGrace: { ms: GRACE, closeCodes: [TOKEN_EXPIRED] } });
const graceSpec = deciderSpec(graceful);

// ---- commands (user u1)

const meta = (issuedAt: number, actorId = "u1") => commandMeta({ actorId, issuedAt });
const connect = (
  connectionId: string,
  { gatewayId = "g1", deviceId = null, platform = "web", issuedAt = T0 }: { gatewayId?: string; deviceId?: string | null; platform?: DevicePlatform; issuedAt?: number } = {},
): PresenceCommand => ({ type: "ConnectClient", data: { meta: meta(issuedAt), userId: "u1", connectionId, deviceId, gatewayId, platform } });
const disconnect = (connectionId: string, issuedAt = T0 + 5_000, closeCode = 1000): PresenceCommand => ({
  type: "DisconnectClient",
  data: { meta: meta(issuedAt), userId: "u1", connectionId, closeCode },
});
const heartbeat = (connectionId: string, issuedAt: number): PresenceCommand => ({
  type: "PresenceHeartbeat",
  data: { meta: meta(issuedAt), userId: "u1", connectionId },
});
const setStatus = (status: PresenceStatus, statusText: string | null = null): PresenceCommand => ({
  type: "SetStatus",
  data: { meta: meta(T0 + 1_000), userId: "u1", status, statusText },
});
const expireStale = (issuedAt: number, connectionIds: string[] = []): PresenceCommand => ({
  type: "ExpirePresence",
  data: { meta: meta(issuedAt, "system:timer"), userId: "u1", reason: "stale", gatewayId: null, connectionIds },
});
const gatewayDown = (gatewayId: string | null, issuedAt = T0 + 10_000, connectionIds: string[] = []): PresenceCommand => ({
  type: "ExpirePresence",
  data: { meta: meta(issuedAt, "system:sweeper"), userId: "u1", reason: "gateway_down", gatewayId, connectionIds },
});

// ---- events, as decide returns them

const opened = (
  connectionId: string,
  { gatewayId = "g1", deviceId = null, platform = "web", expiresAt = T0 + TTL }: { gatewayId?: string; deviceId?: string | null; platform?: DevicePlatform; expiresAt?: number } = {},
): DecidedPresenceEvent => ({ type: "ConnectionOpened", data: { userId: "u1", connectionId, deviceId, gatewayId, platform, expiresAt } });
const online = (status: PresenceStatus = "online", statusText: string | null = null): DecidedPresenceEvent => ({
  type: "UserOnline",
  data: { userId: "u1", status, statusText },
});
const refreshed = (connectionId: string, expiresAt: number): DecidedPresenceEvent => ({
  type: "ConnectionRefreshed",
  data: { userId: "u1", connectionId, expiresAt },
});
const closed = (connectionId: string, reason: "disconnected" | "stale" | "gateway_down", gatewayId = "g1"): DecidedPresenceEvent => ({
  type: "ConnectionClosed",
  data: { userId: "u1", connectionId, gatewayId, reason },
});
const offline = (lastSeenAt: number): DecidedPresenceEvent => ({ type: "UserOffline", data: { userId: "u1", lastSeenAt } });
const closing = (connectionId: string, expiresAt: number, closeCode = TOKEN_EXPIRED): DecidedPresenceEvent => ({
  type: "ConnectionClosing",
  data: { userId: "u1", connectionId, closeCode, expiresAt },
});
const joinTopic = (connectionId: string, topic: string): PresenceCommand => ({ type: "JoinTopic", data: { meta: meta(T0 + 2_000), userId: "u1", connectionId, topic } });
const leaveTopic = (connectionId: string, topic: string): PresenceCommand => ({ type: "LeaveTopic", data: { meta: meta(T0 + 3_000), userId: "u1", connectionId, topic } });
const topicJoined = (connectionId: string, topic: string): DecidedPresenceEvent => ({ type: "TopicJoined", data: { userId: "u1", connectionId, topic } });
const topicLeft = (connectionId: string, topic: string, reason: "left" | "connection_closed" = "connection_closed"): DecidedPresenceEvent => ({
  type: "TopicLeft",
  data: { userId: "u1", connectionId, topic, reason },
});
const statusChanged = (status: PresenceStatus, previousStatus: PresenceStatus, statusText: string | null = null): DecidedPresenceEvent => ({
  type: "StatusChanged",
  data: { userId: "u1", status, previousStatus, statusText },
});

/** The state after events decided at different times (the spec helper gives them all one time). */
function stateAfter(...steps: [issuedAt: number, events: DecidedPresenceEvent[]][]): PresenceState {
  return steps.reduce(
    (state, [issuedAt, events], index) =>
      withEventMeta<PresenceEvent>(commandMeta({ commandId: `history-${index}`, issuedAt }), events).reduce((folded, event) => decider.evolve(folded, event), state),
    decider.initialState(),
  );
}

describe("presence decider", () => {
  describe("when the user service gives a profile", () => {
    const updateProfile = (actorId: string): PresenceCommand => ({
      type: "UpdateProfile",
      data: { meta: commandMeta({ actorId }), userId: "u1", displayName: "Ulla", avatarUrl: null },
    });

    it("announces the display name and avatar for the metas, whatever the user's connections", () => {
      spec.given([]).when(updateProfile("system:users")).then([{ type: "ProfileChanged", data: { userId: "u1", displayName: "Ulla", avatarUrl: null } }]);
    });

    it("refuses a profile from anyone else", () => {
      spec.given([]).when(updateProfile("u1")).thenThrows("forbidden");
    });
  });

  describe("when nothing has happened to the user", () => {
    it("opens the first connection with a deadline one TTL away, then makes the user online with the default status", () => {
      spec.given([]).when(connect("k1", { deviceId: "d1", platform: "ios" })).then([opened("k1", { deviceId: "d1", platform: "ios" }), online()]);
    });

    it("ignores disconnects and heartbeats of connections it does not know", () => {
      spec.given([]).when(disconnect("k1")).thenNothingHappened();
      spec.given([]).when(heartbeat("k1", T0 + 1_000)).thenNothingHappened();
    });

    it("expires nothing", () => {
      spec.given([]).when(expireStale(T0 + TTL)).thenNothingHappened();
      spec.given([]).when(gatewayDown("g1")).thenNothingHappened();
    });

    it("changes the status from the default online, and ignores setting the default again", () => {
      spec.given([]).when(setStatus("dnd", "Focus")).then([statusChanged("dnd", "online", "Focus")]);
      spec.given([]).when(setStatus("online")).thenNothingHappened();
    });

    it("has no timer", () => {
      expect(staleConnectionsTimer(spec.given([]).state, "u1")).toBeUndefined();
    });
  });

  describe("when the user has one connection", () => {
    const one = [opened("k1"), online()];

    it("ignores a repeated connect of the same connection", () => {
      spec.given(one).when(connect("k1", { issuedAt: T0 + 2_000 })).thenNothingHappened();
    });

    it("opens a second device without coming online again", () => {
      spec.given(one).when(connect("k2", { gatewayId: "g2", platform: "android", issuedAt: T0 + 2_000 })).then([
        opened("k2", { gatewayId: "g2", platform: "android", expiresAt: T0 + 2_000 + TTL }),
      ]);
    });

    it("closes the last connection, then makes the user offline as of the disconnect", () => {
      spec.given(one).when(disconnect("k1", T0 + 5_000)).then([closed("k1", "disconnected"), offline(T0 + 5_000)]);
    });

    it("ignores a disconnect of another connection", () => {
      spec.given(one).when(disconnect("k9")).thenNothingHappened();
    });

    it("moves the deadline forward on a heartbeat", () => {
      spec.given(one).when(heartbeat("k1", T0 + 20_000)).then([refreshed("k1", T0 + 20_000 + TTL)]);
    });

    it("ignores a heartbeat that would not move the deadline forward (retried or late)", () => {
      spec.given([...one, refreshed("k1", T0 + 20_000 + TTL)]).when(heartbeat("k1", T0 + 20_000)).thenNothingHappened();
      spec.given([...one, refreshed("k1", T0 + 20_000 + TTL)]).when(heartbeat("k1", T0 + 10_000)).thenNothingHappened();
    });

    it("sets the timer to the connection's deadline: a stale expiry of that connection", () => {
      expect(staleConnectionsTimer(spec.given(one).state, "u1")).toEqual({
        at: T0 + TTL,
        workspaceId: "w1",
        command: { type: "ExpirePresence", data: { userId: "u1", reason: "stale", gatewayId: null, connectionIds: ["k1"] } },
      });
    });

    it("closes the connection when the timer comes at its deadline, the user last seen when it opened", () => {
      spec.given(one).when(expireStale(T0 + TTL, ["k1"])).then([closed("k1", "stale"), offline(T0)]);
    });

    it("keeps a connection the timer comes for before its deadline", () => {
      spec.given(one).when(expireStale(T0 + TTL - 1, ["k1"])).thenNothingHappened();
    });

    it("closes it for a dead gateway, the user last seen when the gateway was found dead", () => {
      spec.given(one).when(gatewayDown("g1", T0 + 10_000)).then([closed("k1", "gateway_down"), offline(T0 + 10_000)]);
    });

    it("refuses a gateway_down expiry that names no gateway", () => {
      spec.given(one).when(gatewayDown(null)).thenThrows("invalid");
    });
  });

  describe("when the user renewed the connection before its deadline", () => {
    const renewed = stateAfter([T0, [opened("k1"), online()]], [T0 + 30_000, [refreshed("k1", T0 + 30_000 + TTL)]]);

    it("ignores the timer of the first deadline (a late timer is harmless)", () => {
      expect(decider.decide(expireStale(T0 + TTL, ["k1"]), renewed)).toEqual([]);
    });

    it("moves the timer to the new deadline, where the user is last seen at the heartbeat", () => {
      expect(staleConnectionsTimer(renewed, "u1")).toMatchObject({ at: T0 + 30_000 + TTL });
      expect(decider.decide(expireStale(T0 + 30_000 + TTL, ["k1"]), renewed)).toEqual([closed("k1", "stale"), offline(T0 + 30_000)]);
    });
  });

  describe("when the user has two connections on two gateways", () => {
    const two = stateAfter(
      [T0, [opened("k1"), online("away", "Lunch")]],
      [T0 + 1_000, [opened("k2", { gatewayId: "g2", expiresAt: T0 + 1_000 + TTL })]],
    );

    it("closes one without going offline", () => {
      expect(decider.decide(disconnect("k1"), two)).toEqual([closed("k1", "disconnected")]);
    });

    it("comes online with the chosen status and text after both closed", () => {
      const gone = stateAfter(
        [T0, [opened("k1"), online("away", "Lunch")]],
        [T0 + 5_000, [closed("k1", "disconnected"), offline(T0 + 5_000)]],
      );
      expect(decider.decide(connect("k3", { issuedAt: T0 + 9_000 }), gone)).toEqual([
        opened("k3", { expiresAt: T0 + 9_000 + TTL }),
        online("away", "Lunch"),
      ]);
    });

    it("closes only the dead gateway's connections, and stays online", () => {
      expect(decider.decide(gatewayDown("g2"), two)).toEqual([closed("k2", "gateway_down", "g2")]);
    });

    it("closes only the listed connections of a dead gateway", () => {
      const three = decider.evolve(two, withEventMeta<PresenceEvent>(meta(T0 + 2_000), [opened("k3", { gatewayId: "g2" })])[0]!);
      expect(decider.decide(gatewayDown("g2", T0 + 10_000, ["k3"]), three)).toEqual([closed("k3", "gateway_down", "g2")]);
    });

    it("sets the timer to the earlier deadline, for that connection only", () => {
      expect(staleConnectionsTimer(two, "u1")).toMatchObject({ at: T0 + TTL, command: { data: { connectionIds: ["k1"] } } });
    });

    it("closes only the connections past their deadline", () => {
      expect(decider.decide(expireStale(T0 + TTL), two)).toEqual([closed("k1", "stale")]);
      expect(decider.decide(expireStale(T0 + TTL, ["k1", "k2"]), two)).toEqual([closed("k1", "stale")]);
    });

    it("closes both when both are stale, then goes offline as of the latest sign of life", () => {
      expect(decider.decide(expireStale(T0 + 1_000 + TTL), two)).toEqual([
        closed("k1", "stale"),
        closed("k2", "stale", "g2"),
        offline(T0 + 1_000),
      ]);
    });
  });

  describe("when two connections reach their deadline at the same instant", () => {
    const tied = stateAfter([T0, [opened("k2", { gatewayId: "g2" }), opened("k1"), online()]]);

    it("expires both with one timer command, in id order", () => {
      expect(staleConnectionsTimer(tied, "u1")).toMatchObject({ at: T0 + TTL, command: { data: { connectionIds: ["k1", "k2"] } } });
      expect(decider.decide(expireStale(T0 + TTL, ["k1", "k2"]), tied)).toEqual([closed("k1", "stale"), closed("k2", "stale", "g2"), offline(T0)]);
    });
  });

  describe("when a socket closes for a token refresh (reconnect grace)", () => {
    const one = [opened("k1", { deviceId: "d1" }), online()];
    const closedAt = T0 + 5_000;
    const lingering = [...one, closing("k1", closedAt + GRACE)];

    it("keeps the connection, closing, until the end of the grace: the user stays online", () => {
      graceSpec.given(one).when(disconnect("k1", closedAt, TOKEN_EXPIRED)).then([closing("k1", closedAt + GRACE)]);
    });

    it("closes at once on any other close code, or without a grace", () => {
      graceSpec.given(one).when(disconnect("k1", closedAt, 1001)).then([closed("k1", "disconnected"), offline(closedAt)]);
      spec.given(one).when(disconnect("k1", closedAt, TOKEN_EXPIRED)).then([closed("k1", "disconnected"), offline(closedAt)]);
    });

    it("hands over to a new connection of the same device: no UserOnline, the closing one closed after the new one opened", () => {
      graceSpec.given(lingering).when(connect("k2", { deviceId: "d1", issuedAt: closedAt + 50 })).then([
        opened("k2", { deviceId: "d1", expiresAt: closedAt + 50 + TTL }),
        closed("k1", "disconnected"),
      ]);
    });

    it("keeps it while another device connects", () => {
      graceSpec.given(lingering).when(connect("k2", { deviceId: "d2", issuedAt: closedAt + 50 })).then([opened("k2", { deviceId: "d2", expiresAt: closedAt + 50 + TTL })]);
      graceSpec.given(lingering).when(connect("k2", { deviceId: "d1", platform: "ios", issuedAt: closedAt + 50 })).then([
        opened("k2", { deviceId: "d1", platform: "ios", expiresAt: closedAt + 50 + TTL }),
      ]);
    });

    /** The lingering connection, its ConnectionClosing decided at `closedAt`. */
    const closedThen = stateAfter([T0, one], [closedAt, [closing("k1", closedAt + GRACE)]]);

    it("sets the timer to the end of the grace, which closes it and makes the user offline as of the close", () => {
      expect(staleConnectionsTimer(closedThen, "u1")).toMatchObject({ at: closedAt + GRACE, command: { data: { connectionIds: ["k1"] } } });
      expect(graceful.decide(expireStale(closedAt + GRACE, ["k1"]), closedThen)).toEqual([closed("k1", "disconnected"), offline(closedAt)]);
      expect(graceful.decide(expireStale(closedAt + GRACE - 1, ["k1"]), closedThen)).toEqual([]);
    });

    it("ignores heartbeats and further closes of the closing connection, and a late timer after the hand-over", () => {
      graceSpec.given(lingering).when(heartbeat("k1", closedAt + 100)).thenNothingHappened();
      graceSpec.given(lingering).when(disconnect("k1", closedAt + 100)).thenNothingHappened();
      const handedOver = [...lingering, opened("k2", { deviceId: "d1", expiresAt: closedAt + 50 + TTL }), closed("k1", "disconnected")];
      graceSpec.given(handedOver).when(expireStale(closedAt + GRACE, ["k1"])).thenNothingHappened();
    });

    it("closes at once when the same device's reconnect was decided first (it reached another gateway sooner)", () => {
      const reconnectedFirst = stateAfter([T0, [opened("k1", { deviceId: "d1" }), online()]], [closedAt - 10, [opened("k2", { deviceId: "d1", gatewayId: "g2" })]]);
      expect(graceful.decide(disconnect("k1", closedAt, TOKEN_EXPIRED), reconnectedFirst)).toEqual([closed("k1", "disconnected")]);
    });

    it("closes it with its dead gateway, the user last seen at the close", () => {
      expect(graceful.decide(gatewayDown("g1", closedAt + 1_000), closedThen)).toEqual([closed("k1", "gateway_down"), offline(closedAt)]);
    });
  });

  describe("when the user chose a status", () => {
    const away = [statusChanged("away", "online", "Lunch")];

    it("ignores the same status and text again", () => {
      spec.given(away).when(setStatus("away", "Lunch")).thenNothingHappened();
    });

    it("changes the text alone, or the status", () => {
      spec.given(away).when(setStatus("away", "Back at 2")).then([statusChanged("away", "away", "Back at 2")]);
      spec.given(away).when(setStatus("offline")).then([statusChanged("offline", "away")]);
    });

    it("comes online showing it, appear-offline included", () => {
      spec.given(away).when(connect("k1")).then([opened("k1"), online("away", "Lunch")]);
      spec.given([statusChanged("offline", "online")]).when(connect("k1")).then([opened("k1"), online("offline")]);
    });

    it("refuses a text longer than the limit, counting characters not UTF-16 units", () => {
      const limit = PRESENCE_LIMITS.maxStatusTextLength;
      spec.given(away).when(setStatus("away", "x".repeat(limit + 1))).thenThrows("invalid");
      spec.given(away).when(setStatus("away", "🎉".repeat(limit))).then([statusChanged("away", "away", "🎉".repeat(limit))]);
    });
  });

  describe("when a connection joins topics whose viewers are shown", () => {
    const connected = [opened("k1"), online()];
    const viewing = [...connected, topicJoined("k1", "comments:v1")];

    it("makes the open connection a viewer of the topic", () => {
      spec.given(connected).when(joinTopic("k1", "comments:v1")).then([topicJoined("k1", "comments:v1")]);
    });

    it("ignores a redelivered join (the topic is joined already) and a join of a connection that is not open", () => {
      spec.given(viewing).when(joinTopic("k1", "comments:v1")).thenNothingHappened();
      spec.given(connected).when(joinTopic("k2", "comments:v1")).thenNothingHappened();
      spec.given([...viewing, topicLeft("k1", "comments:v1"), closed("k1", "disconnected"), offline(T0)]).when(joinTopic("k1", "comments:v1")).thenNothingHappened();
      graceSpec.given([...connected, closing("k1", T0 + GRACE)]).when(joinTopic("k1", "comments:v1")).thenNothingHappened();
    });

    it("refuses an empty topic or one over 200 characters, whatever the state", () => {
      spec.given(connected).when(joinTopic("k1", "")).thenThrows("invalid_topic");
      spec.given(connected).when(joinTopic("k1", `comments:${"v".repeat(192)}`)).thenThrows("invalid_topic");
      spec.given(viewing).when(leaveTopic("k1", "")).thenThrows("invalid_topic");
      spec.given(connected).when(joinTopic("k1", `comments:${"v".repeat(191)}`)).then([topicJoined("k1", `comments:${"v".repeat(191)}`)]);
    });

    it(`refuses the topic after ${PRESENCE_LIMITS.maxTopicsPerConnection} on one connection, not on another`, () => {
      const full = [...connected, opened("k2"), ...Array.from({ length: PRESENCE_LIMITS.maxTopicsPerConnection }, (_, index) => topicJoined("k1", `comments:${index}`))];
      spec.given(full).when(joinTopic("k1", "comments:one-more")).thenThrows("too_many_topics");
      spec.given(full).when(joinTopic("k1", "comments:0")).thenNothingHappened();
      spec.given(full).when(joinTopic("k2", "comments:one-more")).then([topicJoined("k2", "comments:one-more")]);
    });

    it("leaves a joined topic, and ignores a redelivered leave or a leave of a topic not joined", () => {
      spec.given(viewing).when(leaveTopic("k1", "comments:v1")).then([topicLeft("k1", "comments:v1", "left")]);
      spec.given([...viewing, topicLeft("k1", "comments:v1", "left")]).when(leaveTopic("k1", "comments:v1")).thenNothingHappened();
      spec.given(viewing).when(leaveTopic("k1", "comments:v2")).thenNothingHappened();
      spec.given(viewing).when(leaveTopic("k2", "comments:v1")).thenNothingHappened();
    });

    it("leaves every topic of a connection that closes, in topic order, before its ConnectionClosed", () => {
      const twoTopics = [...viewing, topicJoined("k1", "comments:a")];
      spec
        .given(twoTopics)
        .when(disconnect("k1"))
        .then([topicLeft("k1", "comments:a"), topicLeft("k1", "comments:v1"), closed("k1", "disconnected"), offline(T0 + 5_000)]);
    });

    it("leaves the topics of each connection before that connection closes: stale, dead gateway, replaced after a grace", () => {
      const two = [...viewing, opened("k2", { gatewayId: "g2" }), topicJoined("k2", "comments:v1")];
      spec
        .given(two)
        .when(expireStale(T0 + TTL))
        .then([topicLeft("k1", "comments:v1"), closed("k1", "stale"), topicLeft("k2", "comments:v1"), closed("k2", "stale", "g2"), offline(T0)]);
      spec.given(two).when(gatewayDown("g2")).then([topicLeft("k2", "comments:v1"), closed("k2", "gateway_down", "g2")]);
      // A closing connection still views its topics until it is replaced or its grace ends.
      const closingViewer = [...viewing, closing("k1", T0 + GRACE)];
      graceSpec.given(closingViewer).when(connect("k3")).then([opened("k3"), topicLeft("k1", "comments:v1"), closed("k1", "disconnected")]);
      graceSpec.given(closingViewer).when(expireStale(T0 + GRACE)).then([topicLeft("k1", "comments:v1"), closed("k1", "disconnected"), offline(T0)]);
    });

    it("forgets the topics left, and keeps them in the state's JSON", () => {
      const state = stateAfter([T0, [...viewing, topicJoined("k1", "comments:a")]]);
      expect(state).toMatchObject({ connections: { k1: { topics: ["comments:a", "comments:v1"] } } });
      expect(JSON.parse(JSON.stringify(state))).toEqual(state);
      const left = stateAfter([T0, [...viewing, topicLeft("k1", "comments:v1", "left")]]);
      expect(left).toEqual(stateAfter([T0, connected]));
    });
  });

  describe("the state", () => {
    it("holds the chosen status, the open connections and when the user was last seen, and survives a JSON round trip", () => {
      const state = stateAfter(
        [T0, [opened("k1", { deviceId: "d1" }), online()]],
        [T0 + 1_000, [statusChanged("dnd", "online", "Focus")]],
        [T0 + 2_000, [opened("k2", { gatewayId: "g2", expiresAt: T0 + 2_000 + TTL })]],
        [T0 + 3_000, [refreshed("k1", T0 + 3_000 + TTL)]],
        [T0 + 4_000, [closed("k2", "disconnected", "g2")]],
      );
      expect(state).toEqual({
        status: "known",
        workspaceId: "w1",
        chosenStatus: "dnd",
        statusText: "Focus",
        connections: {
          k1: { gatewayId: "g1", deviceId: "d1", platform: "web", openedAt: T0, refreshedAt: T0 + 3_000, expiresAt: T0 + 3_000 + TTL },
        },
        lastSeenAt: null,
      });
      expect(JSON.parse(JSON.stringify(state))).toEqual(state);
      const gone = decider.evolve(state, withEventMeta<PresenceEvent>(meta(T0 + 9_000), [offline(T0 + 9_000)])[0]!);
      expect(gone).toMatchObject({ lastSeenAt: T0 + 9_000 });
    });

    it("ignores events about connections it does not know (evolve is total)", () => {
      const state = stateAfter([T0, [opened("k1"), online()]]);
      expect(stateAfter([T0, [opened("k1"), online()]], [T0 + 1, [refreshed("k9", T0 + TTL * 2), closed("k9", "stale")]])).toEqual(state);
      expect(stateAfter([T0, [refreshed("k9", T0 + TTL), closed("k9", "stale")]])).toEqual({ status: "unknown" });
    });

    it("treats connection ids as plain keys, __proto__ included", () => {
      spec.given([]).when(disconnect("constructor")).thenNothingHappened();
      spec.given([opened("__proto__"), online()]).when(disconnect("__proto__")).then([closed("__proto__", "disconnected"), offline(T0 + 5_000)]);
    });
  });

  describe("the presence processor", () => {
    const definition = presenceProcessor({ connectionTtlMs: TTL });

    it("runs the presence context with its timer", () => {
      expect(definition.contexts).toEqual(["presence"]);
      expect(definition.dedupe).toEqual({ maxEntries: 32, maxAgeMs: 10 * 60_000 });
      const connected = stateAfter([T0, [opened("k1"), online()]]);
      expect(definition.timer?.(connected, "u1")).toEqual(staleConnectionsTimer(connected, "u1"));
      expect(definition.timer?.(connected, "u1")).toMatchObject({ at: T0 + TTL });
      expect(definition.decider.decide(connect("k1"), definition.decider.initialState())).toEqual([opened("k1"), online()]);
    });

    it("answers connect with the connection id and set status with the status", () => {
      const state = decider.initialState();
      expect(definition.result!([], state, connect("k1"))).toEqual({ connectionId: "k1" });
      expect(definition.result!([], state, setStatus("dnd"))).toEqual({ status: "dnd" });
      expect(definition.result!([], state, heartbeat("k1", T0))).toEqual({});
      expect(definition.result!([], state, joinTopic("k1", "comments:v1"))).toEqual({});
    });
  });
});

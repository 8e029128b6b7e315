import { describe, expect, it } from "vitest";
import type { ChannelSettings, ChannelType, CommandMeta } from "../../../../src/platform/contract/generated/avro-types.js";
import type { ChannelCommand } from "../../../../src/contexts/channels/domain/commands.js";
import { channelDecider } from "../../../../src/contexts/channels/domain/decide.js";
import type { ChannelEvent, DecidedChannelEvent } from "../../../../src/contexts/channels/domain/events.js";
import { channelProcessor } from "../../../../src/contexts/channels/processor.js";
import { withEventMeta } from "../../../../src/platform/processor/event-meta.js";
import { commandMeta, deciderSpec } from "../../../support/processor-decider-spec.js";

const spec = deciderSpec(channelDecider);
const T0 = 1_700_000_000_000;
const SERVER = "server";

const settings = (overrides: Partial<ChannelSettings> = {}): ChannelSettings => ({
  historyEnabled: false,
  historyTtlSeconds: 3600,
  presenceEnabled: false,
  pushNotificationsEnabled: false,
  maxSubscribers: 0,
  ...overrides,
});

// ---- commands

const create = (channelType: ChannelType, overrides: { ownerId?: string | null; settings?: Partial<ChannelSettings>; subscriberIds?: string[]; name?: string } = {}): ChannelCommand => ({
  type: "CreateChannel",
  data: {
    meta: commandMeta({ actorId: SERVER }),
    channelId: "ch1",
    name: overrides.name ?? "Team",
    channelType,
    ownerId: overrides.ownerId ?? null,
    settings: settings(overrides.settings),
    subscriberIds: overrides.subscriberIds ?? [],
  },
});
const publish = (by: { fromServer: true } | { userId: string }, meta: Partial<CommandMeta> = {}): ChannelCommand => ({
  type: "PublishToChannel",
  data: {
    meta: commandMeta({ actorId: "fromServer" in by ? SERVER : by.userId, issuedAt: T0, ...meta }),
    channelId: "ch1",
    data: '{"text":"hi"}',
    fromServer: "fromServer" in by,
  },
});
const subscribe = (userId: string): ChannelCommand => ({ type: "SubscribeUser", data: { meta: commandMeta({ actorId: SERVER }), channelId: "ch1", userId } });
const unsubscribe = (userId: string): ChannelCommand => ({ type: "UnsubscribeUser", data: { meta: commandMeta({ actorId: SERVER }), channelId: "ch1", userId } });
const removeHistory = (): ChannelCommand => ({ type: "RemoveChannelHistory", data: { meta: commandMeta({ actorId: SERVER }), channelId: "ch1" } });
const remove = (meta: Partial<CommandMeta> = {}): ChannelCommand => ({ type: "DeleteChannel", data: { meta: commandMeta({ actorId: SERVER, ...meta }), channelId: "ch1" } });

// ---- events, as decide returns them

const created = (channelType: ChannelType, overrides: { ownerId?: string | null; settings?: Partial<ChannelSettings> } = {}): DecidedChannelEvent => ({
  type: "ChannelCreated",
  data: { channelId: "ch1", name: "Team", channelType, ownerId: overrides.ownerId ?? null, settings: settings(overrides.settings) },
});
const subscribed = (userId: string): DecidedChannelEvent => ({ type: "UserSubscribed", data: { channelId: "ch1", userId } });
const unsubscribed = (userId: string): DecidedChannelEvent => ({ type: "UserUnsubscribed", data: { channelId: "ch1", userId } });
const published = (seq: number, publisherId: string | null, expiresAt: number | null = null): DecidedChannelEvent => ({
  type: "ChannelPublished",
  data: { channelId: "ch1", seq, data: '{"text":"hi"}', publisherId, expiresAt },
});

describe("channel decider", () => {
  describe("when the channel does not exist", () => {
    it("creates it with its first subscribers, each once", () => {
      spec.given([]).when(create("TEAM", { subscriberIds: ["u1", "u2", "u1"] })).then([created("TEAM"), subscribed("u1"), subscribed("u2")]);
    });

    it("turns presence on for a PRESENCE channel", () => {
      spec.given([]).when(create("PRESENCE")).then([created("PRESENCE", { settings: { presenceEnabled: true } })]);
    });

    it("refuses a USER channel without its user, or with subscribers", () => {
      spec.given([]).when(create("USER")).thenThrows("invalid", /owner_id/);
      spec.given([]).when(create("USER", { ownerId: "u1", subscriberIds: ["u2"] })).thenThrows("invalid");
    });

    it("refuses a blank name, a negative maxSubscribers and a history without a lifetime", () => {
      spec.given([]).when(create("TEAM", { name: " " })).thenThrows("invalid", /name/);
      spec.given([]).when(create("TEAM", { settings: { maxSubscribers: -1 } })).thenThrows("invalid", /maxSubscribers/);
      spec.given([]).when(create("TEAM", { settings: { historyEnabled: true, historyTtlSeconds: 0 } })).thenThrows("invalid", /historyTtlSeconds/);
    });

    it("refuses everything else as not found", () => {
      spec.given([]).when(publish({ fromServer: true })).thenThrows("not_found");
      spec.given([]).when(subscribe("u1")).thenThrows("not_found");
      spec.given([]).when(remove()).thenThrows("not_found");
      spec.given([]).when(removeHistory()).thenThrows("not_found");
    });
  });

  describe("when a TEAM channel exists", () => {
    const team = [created("TEAM"), subscribed("u1")];

    it("refuses to create it again", () => {
      spec.given(team).when(create("TEAM")).thenThrows("conflict");
    });

    it("numbers publications without gaps, from a backend and from a subscriber", () => {
      spec.given(team).when(publish({ fromServer: true })).then([published(1, null)]);
      spec.given([...team, published(1, null)]).when(publish({ userId: "u1" })).then([published(2, "u1")]);
    });

    it("refuses a publication by a non-subscriber", () => {
      spec.given(team).when(publish({ userId: "u2" })).thenThrows("not_a_member");
    });

    it("hides it from another workspace", () => {
      spec.given(team).when(publish({ fromServer: true }, { workspaceId: "w2" })).thenThrows("not_found");
      spec.given(team).when(remove({ workspaceId: "w2" })).thenThrows("not_found");
    });

    it("subscribes and unsubscribes once", () => {
      spec.given(team).when(subscribe("u2")).then([subscribed("u2")]);
      spec.given(team).when(subscribe("u1")).thenNothingHappened();
      spec.given(team).when(unsubscribe("u1")).then([unsubscribed("u1")]);
      spec.given([...team, unsubscribed("u1")]).when(unsubscribe("u1")).thenNothingHappened();
      spec.given([...team, unsubscribed("u1")]).when(publish({ userId: "u1" })).thenThrows("not_a_member");
    });

    it("drops history up to the last seq, once", () => {
      spec.given(team).when(removeHistory()).thenNothingHappened();
      spec.given([...team, published(1, null), published(2, null)]).when(removeHistory()).then([{ type: "ChannelHistoryRemoved", data: { channelId: "ch1", upToSeq: 2 } }]);
      spec.given([...team, published(1, null), { type: "ChannelHistoryRemoved", data: { channelId: "ch1", upToSeq: 1 } }]).when(removeHistory()).thenNothingHappened();
    });
  });

  describe("when its settings change", () => {
    const update = (overrides: Partial<ChannelSettings>): ChannelCommand => ({ type: "UpdateChannelSettings", data: { meta: commandMeta({ actorId: SERVER }), channelId: "ch1", settings: settings(overrides) } });

    it("replaces them, once, keeping presence on a PRESENCE channel", () => {
      spec.given([created("TEAM")]).when(update({ maxSubscribers: 3 })).then([{ type: "ChannelSettingsUpdated", data: { channelId: "ch1", settings: settings({ maxSubscribers: 3 }) } }]);
      spec.given([created("TEAM")]).when(update({})).thenNothingHappened();
      spec.given([created("PRESENCE", { settings: { presenceEnabled: true } })]).when(update({ presenceEnabled: false })).thenNothingHappened();
      spec.given([created("TEAM")]).when(update({ maxSubscribers: -2 })).thenThrows("invalid");
      spec.given([]).when(update({})).thenThrows("not_found");
    });

    it("keeps later publications in history once history is turned on", () => {
      const turnedOn: DecidedChannelEvent = { type: "ChannelSettingsUpdated", data: { channelId: "ch1", settings: settings({ historyEnabled: true, historyTtlSeconds: 60 }) } };
      spec.given([created("TEAM"), turnedOn]).when(publish({ fromServer: true })).then([published(1, null, T0 + 60_000)]);
    });
  });

  describe("when a channel keeps history", () => {
    it("says when each publication leaves it", () => {
      spec.given([created("TEAM", { settings: { historyEnabled: true, historyTtlSeconds: 60 } })]).when(publish({ fromServer: true })).then([published(1, null, T0 + 60_000)]);
    });
  });

  describe("when the channel is SYSTEM or USER", () => {
    it("takes publications from backends only", () => {
      spec.given([created("SYSTEM"), subscribed("u1")]).when(publish({ userId: "u1" })).thenThrows("forbidden");
      spec.given([created("SYSTEM")]).when(publish({ fromServer: true })).then([published(1, null)]);
      spec.given([created("USER", { ownerId: "u1" })]).when(publish({ userId: "u1" })).thenThrows("forbidden");
    });

    it("has no subscribers on a USER channel", () => {
      spec.given([created("USER", { ownerId: "u1" })]).when(subscribe("u2")).thenThrows("invalid");
    });
  });

  describe("when the channel was deleted", () => {
    const gone = [created("TEAM"), published(1, null), published(2, null), { type: "ChannelDeleted", data: { channelId: "ch1" } } as DecidedChannelEvent];

    it("refuses publications and may be created again, its seqs continuing", () => {
      spec.given(gone).when(publish({ fromServer: true })).thenThrows("not_found");
      spec.given(gone).when(create("TEAM")).then([created("TEAM")]);
      spec.given([...gone, created("TEAM")]).when(publish({ fromServer: true })).then([published(3, null)]);
    });
  });

  describe("the processor's answer", () => {
    it("gives a publication's seq and time", () => {
      const command = publish({ fromServer: true });
      const state = spec.given([created("TEAM")]).state;
      const events = withEventMeta<ChannelEvent>(command.data.meta, channelDecider.decide(command, state));
      expect(channelProcessor.result?.(events, state, command)).toEqual({ channelId: "ch1", seq: 1, publishedAt: T0 });
    });
  });
});

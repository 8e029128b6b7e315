import type { Logger } from "../../../infra/log/logger.js";
import type { PublishToChannel } from "../../../platform/contract/generated/avro-types.js";
import type { CommandBus } from "../../../platform/gateway/command-bus.js";
import { openSequencedFeed, type FeedSource, type SequencedHistory } from "../../../platform/gateway/sequenced-feed.js";
import type { ChannelFamily, ChannelOutlet, ChannelReply, SocketIdentity } from "../../../platform/phoenix/channel.js";
import { refuse, replying } from "../../../platform/phoenix/channel-replies.js";
import type { PresenceEntries } from "../../presence/projections/presence/presence-model.js";
import type { PresenceDiff } from "../../presence/presence-diff.js";
import { mayReceive } from "../domain/access.js";
import type { ChannelChange, Publication } from "../projections/channels/channel-changes.js";
import type { ChannelView, MysqlChannelStore } from "../projections/channels/mysql-channel-store.js";
import type { WorkspacePresence } from "../ports.js";
import type { ChannelAdmission } from "./channel-admission.js";
import { publicationData } from "./publication-data.js";

/** The topic prefix of channels. */
export const CHANNEL_PREFIX = "channel:";
/** What a client pushes to publish, and what every joined client receives. */
export const PUBLISH_EVENT = "publish";
export const PUBLICATION_EVENT = "publication";
/** Missed publications a join recovers at most. */
const MAX_RECOVERY = 500;

/** The client payload of a publication: one frozen object per publication, shared by every socket it goes to. */
export function publicationPayload(publication: Publication): Record<string, unknown> {
  let payload = payloads.get(publication);
  if (payload === undefined) {
    payload = Object.freeze({
      channel_id: publication.channelId,
      seq: publication.seq,
      data: parsed(publication.data),
      publisher_id: publication.publisherId,
      published_at: publication.publishedAt,
    });
    payloads.set(publication, payload);
  }
  return payload;
}
const payloads = new WeakMap<object, Readonly<Record<string, unknown>>>();

function parsed(json: string): unknown {
  try {
    return JSON.parse(json) as unknown;
  } catch {
    return json;
  }
}

export interface ChannelFamilyDeps {
  readonly store: Pick<MysqlChannelStore, "channel" | "isSubscribed" | "subscribersOf" | "publicationsOf" | "lastSeq">;
  readonly changes: FeedSource<ChannelChange>;
  readonly admission: Pick<ChannelAdmission, "admit">;
  readonly bus: CommandBus;
  /** Finds the presence context's port when first needed (absent: no presence pushes). */
  readonly presence: () => WorkspacePresence | undefined;
  readonly logger: Logger;
}

/**
 * `channel:{channelId}`: who may join is decided by the channel's type ({@link mayReceive}, from
 * the read model); `maxSubscribers` bounds the sockets joined at once (`channel_full`). Joined
 * clients receive `publication` pushes; with history on, a join with `{last_seq}` recovers what
 * was missed and gaps are repaired, as on conversations. A client `publish {data}` is decided by
 * the channel processor from the channel itself (type and subscribers), on every push. An
 * unsubscription or a deletion closes the channel. With presence on, `presence_state` and
 * `presence_diff` of the workspace are filtered down to the users the channel reaches.
 */
export function channelFamily(deps: ChannelFamilyDeps): ChannelFamily {
  return {
    prefix: CHANNEL_PREFIX,
    async join(topic, params, identity, outlet) {
      const channelId = topic.slice(CHANNEL_PREFIX.length);
      if (channelId === "") return refuse("invalid_topic");
      const view = await deps.store.channel(channelId);
      if (view === undefined || !(await reaches(view, identity, deps.store))) return refuse("unauthorized");
      let giveBack = () => undefined as void;
      if (view.settings.maxSubscribers > 0) {
        const seat = await deps.admission.admit(channelId, identity.connectionId, view.settings.maxSubscribers);
        if (seat === undefined) return refuse("channel_full", { message: `the channel holds its ${view.settings.maxSubscribers} subscribers` });
        giveBack = seat;
      }
      const stops: (() => void)[] = [giveBack];
      const stopAll = () => stops.splice(0).forEach((stop) => stop());
      try {
        const audience = await audienceOf(view, deps.store);
        const onChange = (change: ChannelChange): void => {
          if (change.kind === "deleted") return outlet.close("channel deleted");
          if (change.kind === "subscribed") audience?.add(change.userId);
          if (change.kind === "unsubscribed") {
            audience?.delete(change.userId);
            if (change.userId === identity.userId && view.channelType !== "SYSTEM") outlet.close("unsubscribed");
          }
        };
        const response = await openFeed(view, params.last_seq, deps, outlet, onChange, stops);
        const presence = view.settings.presenceEnabled ? deps.presence() : undefined;
        if (presence !== undefined) stops.push(await presence.enter(view.workspaceId, presenceOf(outlet, audience)));
        return {
          status: "ok",
          response: { ...response, type: view.channelType, name: view.name },
          channel: {
            handleIn: (event, payload) => (event === PUBLISH_EVENT ? publish(channelId, payload, identity, deps.bus, outlet) : Promise.resolve(refuse("unknown_event"))),
            leave: () => Promise.resolve(stopAll()),
          },
        };
      } catch (error) {
        stopAll();
        throw error;
      }
    },
  };
}

async function reaches(view: ChannelView, identity: SocketIdentity, store: ChannelFamilyDeps["store"]): Promise<boolean> {
  const needsSubscription = view.channelType !== "USER" && view.channelType !== "SYSTEM";
  return mayReceive({
    channelType: view.channelType,
    ownerId: view.ownerId,
    workspaceId: view.workspaceId,
    userId: identity.userId,
    userWorkspaceId: identity.workspaceId,
    subscribed: needsSubscription && (await store.isSubscribed(view.id, identity.userId)),
  });
}

/** The users whose presence the channel shows: undefined for all of the workspace (SYSTEM) or with presence off. */
export async function audienceOf(view: ChannelView, store: ChannelFamilyDeps["store"]): Promise<Set<string> | undefined> {
  if (!view.settings.presenceEnabled || view.channelType === "SYSTEM") return undefined;
  if (view.channelType === "USER") return new Set(view.ownerId === null ? [] : [view.ownerId]);
  return new Set(await store.subscribersOf(view.id));
}

/**
 * Follows the channel's changes: publications through the numbered feed (recovery and gap
 * repair) when the channel keeps history, as they come otherwise (nothing to recover from).
 */
async function openFeed(
  view: ChannelView,
  cursor: unknown,
  deps: ChannelFamilyDeps,
  outlet: ChannelOutlet,
  onChange: (change: ChannelChange) => void,
  stops: (() => void)[],
): Promise<Record<string, unknown>> {
  const deliver = (publication: Publication) => outlet.push(PUBLICATION_EVENT, publicationPayload(publication));
  if (!view.settings.historyEnabled) {
    stops.push(
      await deps.changes.listen(view.id, {
        onDelta: (change) => (change.kind === "published" ? deliver(change.publication) : onChange(change)),
        onResync: () => undefined,
      }),
    );
    return cursor === undefined ? {} : { recovered: false };
  }
  const history: SequencedHistory<Publication> = {
    after: (channelId, range) => deps.store.publicationsOf(channelId, range),
    lastSeq: (channelId) => deps.store.lastSeq(channelId),
  };
  const opened = await openSequencedFeed<ChannelChange, Publication>({
    streamId: view.id,
    cursor,
    source: deps.changes,
    history,
    sequenced: (change) => (change.kind === "published" ? change.publication : undefined),
    deliverItem: deliver,
    deliverOther: onChange,
    maxRecovery: MAX_RECOVERY,
    logger: deps.logger,
  });
  stops.push(() => opened.close());
  const { items, ...rest } = opened.recovery;
  return items === undefined ? rest : { ...rest, publications: items.map(publicationPayload) };
}

/** The outlet presence pushes go through: only the audience's entries, and no empty diff. */
function presenceOf(outlet: ChannelOutlet, audience: Set<string> | undefined): ChannelOutlet {
  if (audience === undefined) return outlet;
  const only = (entries: PresenceEntries): PresenceEntries => Object.fromEntries(Object.entries(entries).filter(([userId]) => audience.has(userId)));
  return {
    push(event, payload) {
      if (event === "presence_state") return outlet.push(event, only(payload as PresenceEntries));
      if (event !== "presence_diff") return outlet.push(event, payload);
      const diff = payload as PresenceDiff;
      const filtered = { joins: only(diff.joins), leaves: only(diff.leaves) };
      if (Object.keys(filtered.joins).length > 0 || Object.keys(filtered.leaves).length > 0) outlet.push(event, filtered);
    },
    close: (reason) => outlet.close(reason),
  };
}

async function publish(channelId: string, payload: Record<string, unknown>, identity: SocketIdentity, bus: CommandBus, outlet: ChannelOutlet): Promise<ChannelReply> {
  const reply = await replying(async () => {
    const command: PublishToChannel = { meta: bus.meta(identity), channelId, data: publicationData(payload.data), fromServer: false };
    const { seq } = await bus.request("channels", "PublishToChannel", channelId, command);
    return { seq };
  });
  // The processor decided from the channel itself: a user no longer subscribed loses the channel.
  if (reply.status === "error" && reply.response.reason === "not_a_member") outlet.close("unsubscribed");
  return reply;
}

import type { HuddleEndReason, HuddleLeaveReason } from "../../../../platform/contract/generated/avro-types.js";
import { eventOf } from "../../../../platform/contract/event-records.js";
import type { ConsumedRecord } from "../../../../infra/kafka/record-consumer.js";

/**
 * The live-huddles read model in Redis (`<p>` = topic prefix):
 * - `<p>huddles:huddle:<huddleId>` string: the huddle as JSON ({@link LiveHuddleView}); kept
 *   {@link ENDED_HUDDLE_TTL_MS} after its end, so that late joins and reads are told it ended.
 * - `<p>huddles:conversation:<conversationId>` string: the id of the conversation's live huddle
 *   (the latest started, while it lasts).
 * - `<p>huddles:live` set: the ids of the live huddles (`active_huddles`).
 * - `<p>huddles:checkpoint` hash: the projection's checkpoint, in the same MULTI/EXEC.
 *
 * What the projection pushes goes through Redis pub/sub, after the commit:
 * `<p>huddles:to-huddle:<huddleId>` carries {@link HuddlePush}es for the sockets joined to
 * `huddle:{huddleId}`, `<p>huddles:to-conversation:<conversationId>` those for the sockets
 * joined to the conversation's topic (a huddle started and ended), `<p>huddles:to-user:<userId>`
 * those for the user's own channel (an invitation). The channel layer names them in each dialect.
 */
export const liveHuddleKeys = (prefix: string) => ({
  checkpoint: `${prefix}huddles:checkpoint`,
  keyPrefix: `${prefix}huddles:`,
  huddle: (huddleId: string) => `${prefix}huddles:huddle:${huddleId}`,
  conversation: (conversationId: string) => `${prefix}huddles:conversation:${conversationId}`,
  live: `${prefix}huddles:live`,
  toHuddle: (huddleId: string) => `${prefix}huddles:to-huddle:${huddleId}`,
  toConversation: (conversationId: string) => `${prefix}huddles:to-conversation:${conversationId}`,
  toUser: (userId: string) => `${prefix}huddles:to-user:${userId}`,
});

/** How long an ended huddle stays in the read model. */
export const ENDED_HUDDLE_TTL_MS = 60 * 60_000;

/** A participant as clients see them. */
export interface ParticipantView {
  readonly userId: string;
  readonly audio: boolean;
  readonly video: boolean;
  readonly screen: boolean;
  readonly handRaised: boolean;
  /** Epoch milliseconds. */
  readonly joinedAt: number;
  /** The connection they are in from (null: over REST); for the gateway, never sent to clients. */
  readonly connectionId: string | null;
}

/** A participant as pushes carry them: without their connection. */
export type ShownParticipant = Omit<ParticipantView, "connectionId">;

/** `participant` as clients may see them. */
export function shown({ connectionId: _connectionId, ...participant }: ParticipantView): ShownParticipant {
  return participant;
}

/** One huddle as gateways read it. */
export interface LiveHuddleView {
  readonly huddleId: string;
  readonly workspaceId: string;
  readonly createdBy: string;
  readonly conversationId: string | null;
  readonly title: string | null;
  readonly status: "live" | "ended";
  /** Epoch milliseconds. */
  readonly createdAt: number;
  /** Everyone invited, sorted. */
  readonly invited: readonly string[];
  /** Who is in it now, by user id. */
  readonly participants: Readonly<Record<string, ParticipantView>>;
  readonly endReason: HuddleEndReason | null;
}

/** What a participant turns on and off: microphone, camera, screen share, raised hand. */
export type HuddleTrack = "audio" | "video" | "screen" | "hand";

/**
 * What changed, for the sockets of one huddle or one conversation. A participant's leave names
 * the connection they were on (null: over REST), for the gateway holding it; the channels never
 * send connection ids to clients.
 */
export type HuddlePush =
  | { readonly huddleId: string; readonly event: "participant_joined"; readonly participant: ShownParticipant }
  | { readonly huddleId: string; readonly event: "participant_updated"; readonly participant: ShownParticipant; readonly track: HuddleTrack }
  | { readonly huddleId: string; readonly event: "participant_left"; readonly userId: string; readonly reason: HuddleLeaveReason; readonly connectionId: string | null }
  | { readonly huddleId: string; readonly event: "huddle_started"; readonly conversationId: string | null; readonly startedBy: string }
  | { readonly huddleId: string; readonly event: "huddle_ended"; readonly reason: HuddleEndReason; readonly endedBy: string | null; readonly durationMs: number }
  | HuddleInvitation;

/**
 * An invitation, for the invitee's own channel: the huddle, its conversation (null: standalone),
 * who invited them (the invitation's actor) and the huddle's title. Only sockets of `workspaceId`
 * receive it.
 */
export interface HuddleInvitation {
  readonly huddleId: string;
  readonly event: "huddle_invited";
  readonly workspaceId: string;
  readonly conversationId: string | null;
  readonly invitedBy: string;
  readonly title: string | null;
}

/** A push and where it goes: the huddle's sockets, its conversation's, or one user's. */
export interface AddressedPush {
  readonly to: { readonly huddleId: string } | { readonly conversationId: string } | { readonly userId: string };
  readonly push: HuddlePush;
}

/** What a batch changed: the huddles after it, and its pushes in record order. */
export interface LiveHuddlesFold {
  readonly huddles: ReadonlyMap<string, LiveHuddleView>;
  readonly pushes: readonly AddressedPush[];
}

/** The participants of a huddle, in user-id order. */
export function participantsOf(huddle: LiveHuddleView): ParticipantView[] {
  return Object.values(huddle.participants).sort((a, b) => (a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0));
}

type HuddleRecord = Pick<ConsumedRecord, "fullName" | "value">;

/**
 * Folds huddle events into the huddles they are about (pure): `huddles` holds the stored view of
 * every huddle the records name (a missing one was never seen). An event about a huddle never
 * seen, other than its creation, or about an ended one, changes nothing. Pushes: started and
 * ended to the conversation (when there is one); joined, left, every toggle (as the participant's
 * whole state with the track toggled, `participant_updated`) and ended to the huddle; to each user
 * newly invited, `huddle_invited` (one who was invited already is not told again).
 */
export function foldLiveHuddles(stored: ReadonlyMap<string, LiveHuddleView>, records: readonly HuddleRecord[]): LiveHuddlesFold {
  const huddles = new Map(stored);
  const pushes: AddressedPush[] = [];
  const toHuddle = (push: HuddlePush) => pushes.push({ to: { huddleId: push.huddleId }, push });
  const toConversation = (huddle: LiveHuddleView, push: HuddlePush) => {
    if (huddle.conversationId !== null) pushes.push({ to: { conversationId: huddle.conversationId }, push });
  };
  /** The huddle with `userId`'s participation changed by `change` of `track`, pushed as `participant_updated` when they are in it. */
  const update = (huddle: LiveHuddleView, userId: string, track: HuddleTrack, change: Partial<ParticipantView>) => {
    const participant = Object.hasOwn(huddle.participants, userId) ? huddle.participants[userId] : undefined;
    if (participant === undefined) return;
    const updated = { ...participant, ...change };
    huddles.set(huddle.huddleId, { ...huddle, participants: Object.fromEntries([...Object.entries(huddle.participants), [userId, updated] as const]) });
    toHuddle({ huddleId: huddle.huddleId, event: "participant_updated", participant: shown(updated), track });
  };

  for (const record of records) {
    const event = eventOf(record, "huddles");
    if (event === undefined) continue;
    const { huddleId } = event.data;
    if (event.type === "HuddleCreated") {
      if (huddles.has(huddleId)) continue;
      const { createdBy, conversationId, title, meta } = event.data;
      const huddle: LiveHuddleView = {
        huddleId,
        workspaceId: meta.workspaceId,
        createdBy,
        conversationId,
        title,
        status: "live",
        createdAt: meta.occurredAt,
        invited: [],
        participants: {},
        endReason: null,
      };
      huddles.set(huddleId, huddle);
      toConversation(huddle, { huddleId, event: "huddle_started", conversationId, startedBy: createdBy });
      continue;
    }
    const before = huddles.get(huddleId);
    if (before === undefined || before.status === "ended") continue;
    switch (event.type) {
      case "HuddleParticipantsInvited": {
        const invitees = [...new Set(event.data.userIds)].filter((userId) => !before.invited.includes(userId));
        huddles.set(huddleId, { ...before, invited: [...new Set([...before.invited, ...invitees])].sort() });
        const { conversationId, title } = before;
        for (const userId of invitees) {
          pushes.push({ to: { userId }, push: { huddleId, event: "huddle_invited", workspaceId: before.workspaceId, conversationId, invitedBy: event.data.meta.actorId, title } });
        }
        break;
      }
      case "HuddleParticipantJoined": {
        const { userId, muted, videoEnabled, connectionId, meta } = event.data;
        const participant: ParticipantView = { userId, audio: !muted, video: videoEnabled, screen: false, handRaised: false, joinedAt: meta.occurredAt, connectionId };
        // fromEntries defines own properties: a user id such as __proto__ stays a plain key.
        huddles.set(huddleId, { ...before, participants: Object.fromEntries([...Object.entries(before.participants), [userId, participant] as const]) });
        toHuddle({ huddleId, event: "participant_joined", participant: shown(participant) });
        break;
      }
      case "HuddleParticipantLeft": {
        const { userId, reason } = event.data;
        const connectionId = Object.hasOwn(before.participants, userId) ? (before.participants[userId]?.connectionId ?? null) : null;
        huddles.set(huddleId, { ...before, participants: Object.fromEntries(Object.entries(before.participants).filter(([id]) => id !== userId)) });
        toHuddle({ huddleId, event: "participant_left", userId, reason, connectionId });
        break;
      }
      case "AudioToggled":
        update(before, event.data.userId, "audio", { audio: !event.data.muted });
        break;
      case "VideoToggled":
        update(before, event.data.userId, "video", { video: event.data.videoEnabled });
        break;
      case "ScreenShareToggled":
        update(before, event.data.userId, "screen", { screen: event.data.sharing });
        break;
      case "HandRaised":
        update(before, event.data.userId, "hand", { handRaised: event.data.raised });
        break;
      case "HuddleEnded": {
        const { reason, endedBy, durationMs } = event.data;
        const huddle: LiveHuddleView = { ...before, status: "ended", endReason: reason, participants: {} };
        huddles.set(huddleId, huddle);
        const ended: HuddlePush = { huddleId, event: "huddle_ended", reason, endedBy, durationMs };
        toHuddle(ended);
        toConversation(huddle, ended);
        break;
      }
    }
  }
  return { huddles, pushes };
}

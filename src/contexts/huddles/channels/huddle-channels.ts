import type { Logger } from "../../../infra/log/logger.js";
import { ServiceError } from "../../../platform/errors/error-codes.js";
import { onTopic } from "../../../platform/gateway/payload-fields.js";
import { parseMessage, type ChannelSource } from "../../../platform/gateway/pubsub-hub.js";
import type { ChannelFamily, ChannelOutlet, JoinResult, SocketIdentity } from "../../../platform/phoenix/channel.js";
import { refuse, replying } from "../../../platform/phoenix/channel-replies.js";
import { handlerOf } from "../../../platform/phoenix/push-handlers.js";
import type { OpenUserChannelPart } from "../../../platform/phoenix/identity-families.js";
import type { OpenConversationTopicPart } from "../../conversations/channels/conversation-topic-parts.js";
import { liveHuddleKeys, type HuddleInvitation, type HuddlePush, type HuddleTrack } from "../projections/live-huddles/live-huddles-model.js";
import type { HuddleActions } from "./huddle-actions.js";
import type { HuddleSignals } from "./huddle-signals.js";
import { arrivalOf, createPayload, enabledOf, inviteesOf, raisedOf } from "./huddle-payloads.js";

/** The topic family of huddles: `huddle:{huddleId}`. */
export const HUDDLE_PREFIX = "huddle:";

/**
 * A client event's handler on `huddle:{huddleId}`: the `ok` response, or a thrown `ServiceError`.
 * The payload's `huddleId` is the topic's (a payload naming another huddle is `invalid`).
 */
export type HuddleHandler = (identity: SocketIdentity, huddleId: string, payload: Record<string, unknown>) => Promise<Record<string, unknown>>;

/**
 * The client events of `huddle:{huddleId}`, by name (seed 001's vocabulary). Other contexts'
 * events on the topic (signaling) are added to this table by name.
 */
export function huddleHandlers(actions: HuddleActions): Record<string, HuddleHandler> {
  const toggle =
    (track: HuddleTrack, on: (payload: Record<string, unknown>) => boolean): HuddleHandler =>
    (identity, huddleId, payload) =>
      actions.toggle(identity, huddleId, track, on(payload));
  return {
    "huddle:toggle-audio": toggle("audio", enabledOf),
    "huddle:toggle-video": toggle("video", enabledOf),
    "huddle:toggle-screen": toggle("screen", enabledOf),
    "huddle:raise-hand": toggle("hand", raisedOf),
    "huddle:invite": (identity, huddleId, payload) => actions.invite(identity, huddleId, inviteesOf(payload)),
    "huddle:leave": (identity, huddleId) => actions.leave(identity, huddleId, identity.connectionId),
    "huddle:end": (identity, huddleId) => actions.end(identity, huddleId),
  };
}

/** Whether `track` is on in the participant's state. */
const isOn = (participant: { audio: boolean; video: boolean; screen: boolean; handRaised: boolean }, track: HuddleTrack): boolean =>
  track === "hand" ? participant.handRaised : participant[track];

/**
 * The frames one push of the huddle makes on `huddle:{huddleId}`: each in both vocabularies,
 * seed 001's first (`huddle:participant:joined`, `huddle:participant:updated`,
 * `huddle:participant:left`, `huddle:ended`), then seed 000's (`participant_joined`,
 * `participant_muted` / `participant_unmuted`, `participant_left`, `huddle_ended`).
 *
 * Seed 000 names only mute and unmute: a toggle is `participant_muted` when it turned the track
 * off and `participant_unmuted` when it turned it on, for every track, with `track` saying which
 * (`audio`, `video`, `screen` for a screen share, `hand` for a raised hand) beside the
 * participant's whole state. Connection ids are never sent.
 */
export function huddleFrames(push: HuddlePush): [string, Record<string, unknown>][] {
  const { huddleId } = push;
  switch (push.event) {
    case "participant_joined": {
      const payload = { huddleId, ...push.participant };
      return [
        ["huddle:participant:joined", payload],
        ["participant_joined", payload],
      ];
    }
    case "participant_updated": {
      const { userId, audio, video, screen, handRaised } = push.participant;
      const state = { huddleId, userId, audio, video, screen, handRaised };
      return [
        ["huddle:participant:updated", state],
        [isOn(push.participant, push.track) ? "participant_unmuted" : "participant_muted", { ...state, track: push.track }],
      ];
    }
    case "participant_left": {
      const payload = { huddleId, userId: push.userId, reason: push.reason };
      return [
        ["huddle:participant:left", payload],
        ["participant_left", payload],
      ];
    }
    case "huddle_ended": {
      const payload = { huddleId, reason: push.reason, endedBy: push.endedBy, durationMs: push.durationMs };
      return [
        ["huddle:ended", payload],
        ["huddle_ended", payload],
      ];
    }
    case "huddle_started":
    case "huddle_invited":
      return [];
  }
}

/**
 * The frames of an invitation on the invitee's `user:{userId}`, in both vocabularies:
 * `huddle:invited` then `huddle_invited`, `{huddleId, conversationId, invitedBy, title}`.
 */
export function invitationFrames({ huddleId, conversationId, invitedBy, title }: HuddleInvitation): [string, Record<string, unknown>][] {
  const payload = { huddleId, conversationId, invitedBy, title };
  return [
    ["huddle:invited", payload],
    ["huddle_invited", payload],
  ];
}

/**
 * The huddles' part of `user:{userId}`: the user's invitations to huddles
 * ({@link invitationFrames}), each once, to the sockets of the huddle's workspace only.
 */
export function huddlesUserPart(deps: Pick<HuddleChannelsDeps, "hub" | "topicPrefix" | "logger">): OpenUserChannelPart {
  return async (identity, outlet) => {
    const channel = liveHuddleKeys(deps.topicPrefix).toUser(identity.userId);
    const stop = await deps.hub.listen(channel, {
      onMessage: (raw) => {
        const push = parseMessage<HuddlePush>(raw, channel, deps.logger);
        if (push?.event !== "huddle_invited" || push.workspaceId !== identity.workspaceId) return;
        for (const [event, payload] of invitationFrames(push)) outlet.push(event, payload);
      },
      // Pub/sub does not replay: an invitation published while the subscription was down is not sent again.
      onResync: () => undefined,
    });
    return { leave: stop };
  };
}

/** What the huddles' channels share on one gateway. */
export interface HuddleChannelsDeps {
  readonly actions: HuddleActions;
  /** The topic's client events (see {@link huddleHandlers}), the signals' among them. */
  readonly handlers: Readonly<Record<string, HuddleHandler>>;
  /** The WebRTC signals each joined topic receives. */
  readonly signals: HuddleSignals;
  readonly hub: ChannelSource;
  readonly topicPrefix: string;
  readonly logger: Logger;
}

/** The refusal of a join: a huddle the caller may not see is `unauthorized`, as one that does not exist. */
function joinRefusal(error: unknown): JoinResult {
  if (!(error instanceof ServiceError)) throw error;
  if (error.code === "not_found" || error.code === "not_a_member") return refuse("unauthorized");
  return refuse(error.code, { message: error.publicMessage });
}

/**
 * `huddle:{huddleId}`: joining the topic joins the huddle (join params `{audio?, video?}`, the
 * microphone and camera one arrives with: on and off by default), for those the huddle involves
 * (its creator, invitees, participants, its conversation's members); anyone else, and a huddle
 * unknown, over or of another workspace, is refused `unauthorized`; a full huddle `huddle_full`.
 * The join reply is the huddle with every participant `{userId, audio, video, screen, handRaised,
 * joinedAt}`. Pushes {@link huddleFrames} in both vocabularies, and the WebRTC signals other
 * participants send this user in the huddle (`webrtc:offer`, `webrtc:answer`,
 * `webrtc:ice-candidate`, see `HuddleSignals`); handles {@link huddleHandlers} and the signals.
 * Leaving the topic (or the socket closing) leaves the huddle from this connection. When the user
 * is no longer in the huddle from this connection (left, removed, moved to another device, lost)
 * or the huddle ends, the server closes the topic after the push that says so.
 */
export function huddleFamily(deps: HuddleChannelsDeps): ChannelFamily {
  const { actions, handlers, signals, logger } = deps;
  return {
    prefix: HUDDLE_PREFIX,
    async join(topic, params, identity, outlet) {
      const huddleId = topic.slice(HUDDLE_PREFIX.length);
      if (huddleId === "") return refuse("invalid_topic");
      let over = false;
      const stops: (() => void)[] = [];
      const stop = () => stops.splice(0).forEach((stopping) => stopping());
      try {
        const arrival = arrivalOf(params);
        await actions.involving(identity, huddleId);
        // Followed before the join is sent, so that nothing after it is missed.
        stops.push(await followHuddle(deps, huddleId, identity, outlet, () => (over = true)));
        stops.push(await signals.follow(huddleId, identity, outlet));
        const response = await actions.join(identity, huddleId, identity.connectionId, arrival);
        return {
          status: "ok",
          response,
          channel: {
            handleIn: (event, payload) => {
              const handler = handlerOf(handlers, event);
              if (handler === undefined) return Promise.resolve(refuse("unknown_event"));
              return replying(() => handler(identity, huddleId, onTopic(payload, "huddleId", huddleId)));
            },
            leave: async () => {
              stop();
              if (over) return;
              await actions.leave(identity, huddleId, identity.connectionId).catch((error: unknown) => {
                logger.warn({ err: error, huddleId, connectionId: identity.connectionId }, "huddles: the leave of a closed huddle topic failed");
              });
            },
          },
        };
      } catch (error) {
        stop();
        return joinRefusal(error);
      }
    },
  };
}

/**
 * Follows the huddle's pushes for one joined topic and sends their {@link huddleFrames}; after
 * the one that takes this connection out of the huddle (or ends it), calls `ended` and closes the
 * topic. Resolves with the function that stops.
 */
function followHuddle(deps: HuddleChannelsDeps, huddleId: string, identity: SocketIdentity, outlet: ChannelOutlet, ended: () => void): Promise<() => void> {
  const channel = liveHuddleKeys(deps.topicPrefix).toHuddle(huddleId);
  return deps.hub.listen(channel, {
    onMessage: (raw) => {
      const push = parseMessage<HuddlePush>(raw, channel, deps.logger);
      if (push === undefined) return;
      for (const [event, payload] of huddleFrames(push)) outlet.push(event, payload);
      const out = push.event === "participant_left" && push.userId === identity.userId && push.connectionId === identity.connectionId;
      if (out || push.event === "huddle_ended") {
        ended();
        outlet.close(out ? `no longer in the huddle (${push.event === "participant_left" ? push.reason : ""})` : "the huddle ended");
      }
    },
    // Pub/sub does not replay: a state missed meanwhile is read again by rejoining.
    onResync: () => undefined,
  });
}

/**
 * The huddles' part of `chat:{conversationId}` and `conversation:{conversationId}`: handles
 * `huddle:create` `{inviteeIds?, title?, audio?, video?}` (a huddle of the topic's conversation,
 * with the caller in it from this connection → `{huddleId, created}`), and pushes the
 * conversation's huddles starting and ending, the live indicator: `huddle:started` /
 * `huddle:ended` on `chat:`, `huddle_started` / `huddle_ended` on `conversation:`
 * (`{huddleId, conversationId, startedBy}`, `{huddleId, conversationId, reason, endedBy, durationMs}`).
 */
export function huddleConversationPart(deps: Pick<HuddleChannelsDeps, "actions" | "hub" | "topicPrefix" | "logger">): OpenConversationTopicPart {
  return async ({ dialect, conversationId }, identity, outlet) => {
    const names = dialect === "chat:" ? { started: "huddle:started", ended: "huddle:ended" } : { started: "huddle_started", ended: "huddle_ended" };
    const channel = liveHuddleKeys(deps.topicPrefix).toConversation(conversationId);
    const stop = await deps.hub.listen(channel, {
      onMessage: (raw) => {
        const push = parseMessage<HuddlePush>(raw, channel, deps.logger);
        if (push?.event === "huddle_started") outlet.push(names.started, { huddleId: push.huddleId, conversationId, startedBy: push.startedBy });
        else if (push?.event === "huddle_ended") outlet.push(names.ended, { huddleId: push.huddleId, conversationId, reason: push.reason, endedBy: push.endedBy, durationMs: push.durationMs });
      },
      onResync: () => undefined,
    });
    return {
      events: {
        "huddle:create": (payload) => deps.actions.create(identity, identity.connectionId, createPayload(onTopic(payload, "conversationId", conversationId))),
      },
      leave: stop,
    };
  };
}

import type { Logger } from "../../../infra/log/logger.js";
import { parseMessage, type ChannelSource } from "../../../platform/gateway/pubsub-hub.js";
import type { ChannelFamily, ChannelOutlet, SocketIdentity } from "../../../platform/phoenix/channel.js";
import { refuse, replying } from "../../../platform/phoenix/channel-replies.js";
import { handlePush, handlerOf, type PushHandler as Handler } from "../../../platform/phoenix/push-handlers.js";
import type { OpenUserChannelPart } from "../../../platform/phoenix/identity-families.js";
import { inCall, liveCallKeys, type CallPush, type SignalKind, type ToUserMessage } from "../projections/live-calls/live-calls-model.js";
import type { LiveCallsReadModel } from "../projections/live-calls/live-calls-read-model.js";
import type { CallActions } from "./call-actions.js";
import { callIdOf, invitePayload, onTopic } from "./call-payloads.js";

/**
 * The calls' actions, signals aside: on `webrtc:lobby` (seed 001's names), and on `call:{callId}`
 * in seed 000's style, where each reads its payload with the topic's `callId` (see `onTopic`).
 */
function actionHandlers(actions: CallActions): { readonly lobby: Readonly<Record<string, Handler>>; readonly call: Readonly<Record<string, Handler>> } {
  const end: Handler = (identity, payload) => actions.end(identity, payload);
  const leave: Handler = (identity, payload) => actions.leave(identity, callIdOf(payload));
  const invite: Handler = (identity, payload) => {
    const { callId, calleeIds } = invitePayload(payload);
    return actions.invite(identity, callId, calleeIds);
  };
  return {
    lobby: {
      "call:initiate": (identity, payload) => actions.initiate(identity, payload),
      "call:answer": (identity, payload) => actions.answer(identity, payload),
      "call:reject": (identity, payload) => actions.reject(identity, payload),
      "call:end": end,
      "call:join": (identity, payload) => actions.join(identity, callIdOf(payload)),
      "call:leave": leave,
      "call:invite": invite,
    },
    call: {
      invite,
      leave_call: leave,
      end_call: end,
      start_recording: (identity, payload) => actions.startRecording(identity, callIdOf(payload)),
      stop_recording: (identity, payload) => actions.stopRecording(identity, callIdOf(payload)),
    },
  };
}

/** The whole topic of the calls' lobby. */
export const LOBBY_TOPIC = "webrtc:lobby";

/** Signal events on `webrtc:lobby`, and also accepted on `call:{callId}`. */
const LOBBY_SIGNALS: Readonly<Record<string, SignalKind>> = { "webrtc:offer": "offer", "webrtc:answer": "answer", "webrtc:ice-candidate": "ice-candidate" };
/** Signal events in the `call:{callId}` dialect (seed 000), which that topic pushes. */
const CALL_SIGNALS: Readonly<Record<string, SignalKind>> = { offer: "offer", answer: "answer", ice_candidate: "ice-candidate" };
const CALL_SIGNAL_EVENTS: Readonly<Record<SignalKind, string>> = { offer: "offer", answer: "answer", "ice-candidate": "ice_candidate" };

/** The client events that draw from the signaling budget (each name its own, per user). */
export const SIGNAL_EVENTS = [...Object.keys(LOBBY_SIGNALS), ...Object.keys(CALL_SIGNALS)];

/** What the calls' channels share on one gateway. */
export interface CallChannelsDeps {
  readonly actions: CallActions;
  readonly calls: LiveCallsReadModel;
  readonly hub: ChannelSource;
  readonly topicPrefix: string;
  readonly logger: Logger;
}

/**
 * Follows what the calls push to the user of `identity` (`<p>calls:to-user:<userId>`) and hands
 * each message meant for this connection (its workspace's, not another connection's) to
 * `deliver`; resolves with the function that stops.
 */
function followUser(deps: CallChannelsDeps, identity: SocketIdentity, deliver: (message: ToUserMessage) => void): Promise<() => void> {
  const channel = liveCallKeys(deps.topicPrefix).toUser(identity.userId);
  return deps.hub.listen(channel, {
    onMessage: (raw) => {
      const message = parseMessage<ToUserMessage>(raw, channel, deps.logger);
      if (message === undefined || message.workspaceId !== identity.workspaceId) return;
      if (message.topic !== "signal" && message.exceptConnectionId === identity.connectionId) return;
      deliver(message);
    },
    // Pub/sub does not replay: a call state missed meanwhile is read again by rejoining.
    onResync: () => undefined,
  });
}

/**
 * `webrtc:lobby`: every user's own lobby of calls. Pushes `call:incoming`, `call:answered`,
 * `call:rejected`, `call:ended` and the signals for the user (`webrtc:offer`, `webrtc:answer`,
 * `webrtc:ice-candidate` `{callId, from, sdp | candidate…}`); handles `call:initiate`,
 * `call:answer`, `call:reject`, `call:end`, `call:join`, `call:leave`, `call:invite` and the three
 * signals.
 */
export function lobbyFamily(deps: CallChannelsDeps): ChannelFamily {
  const { actions } = deps;
  const handlers: Readonly<Record<string, Handler>> = {
    ...actionHandlers(actions).lobby,
    ...Object.fromEntries(Object.entries(LOBBY_SIGNALS).map(([event, kind]): [string, Handler] => [event, (identity, payload) => actions.signal(kind, identity, payload)])),
  };
  return {
    prefix: LOBBY_TOPIC,
    async join(_topic, _params, identity, outlet) {
      const stop = await followUser(deps, identity, (message) => {
        if (message.topic === "lobby") outlet.push(message.event, message.payload);
        else if (message.topic === "signal") outlet.push(`webrtc:${message.kind}`, message.payload);
      });
      return {
        status: "ok",
        response: {},
        channel: {
          handleIn: (event, payload) => handlePush(handlers, event, identity, payload),
          leave: () => Promise.resolve(stop()),
        },
      };
    },
  };
}

/**
 * `call:{callId}`: the call's own topic, for its participants and the callees it rings (anyone
 * else, and a call unknown, over or of another workspace: `unauthorized`). Pushes
 * `participant_joined`, `participant_left`, `recording_started`, `recording_stopped`, and the
 * call's signals for the user as `offer`, `answer`, `ice_candidate`; handles signals in both
 * dialects, `invite` `{calleeId | calleeIds}`, `leave_call`, `end_call`, `start_recording` and
 * `stop_recording` (`callId` defaults to the topic's). Leaving the topic does not leave the call.
 */
export function callFamily(deps: CallChannelsDeps): ChannelFamily {
  const { actions, calls } = deps;
  const handlers = actionHandlers(actions).call;
  return {
    prefix: "call:",
    async join(topic, _params, identity, outlet) {
      const callId = topic.slice("call:".length);
      const call = await calls.call(callId);
      if (call?.workspaceId !== identity.workspaceId || !inCall(call, identity.userId)) return refuse("unauthorized");
      const stops = await followCall(deps, callId, identity, outlet);
      return {
        status: "ok",
        response: {},
        channel: {
          handleIn: (event, payload) => {
            const kind = Object.hasOwn(CALL_SIGNALS, event) ? CALL_SIGNALS[event] : Object.hasOwn(LOBBY_SIGNALS, event) ? LOBBY_SIGNALS[event] : undefined;
            if (kind !== undefined) return replying(() => actions.signal(kind, identity, payload, callId));
            const handler = handlerOf(handlers, event);
            if (handler === undefined) return Promise.resolve(refuse("unknown_event"));
            return replying(() => handler(identity, onTopic(payload, callId)));
          },
          leave: () => Promise.resolve(stops.forEach((stop) => stop())),
        },
      };
    },
  };
}

async function followCall(deps: CallChannelsDeps, callId: string, identity: SocketIdentity, outlet: ChannelOutlet): Promise<(() => void)[]> {
  const channel = liveCallKeys(deps.topicPrefix).toCall(callId);
  const stopCall = await deps.hub.listen(channel, {
    onMessage: (raw) => {
      const push = parseMessage<CallPush>(raw, channel, deps.logger);
      if (push !== undefined) outlet.push(push.event, push.payload);
    },
    onResync: () => undefined,
  });
  try {
    const stopSignals = await followUser(deps, identity, (message) => {
      if (message.topic === "signal" && message.payload.callId === callId) outlet.push(CALL_SIGNAL_EVENTS[message.kind], message.payload);
    });
    return [stopCall, stopSignals];
  } catch (error) {
    stopCall();
    throw error;
  }
}

/** The calls' part of `user:{userId}`: `incoming_call` and `call_ended`. */
export function callsUserPart(deps: CallChannelsDeps): OpenUserChannelPart {
  return async (identity, outlet) => {
    const stop = await followUser(deps, identity, (message) => {
      if (message.topic === "user") outlet.push(message.event, message.payload);
    });
    return { leave: stop };
  };
}

import type { Logger } from "../../../infra/log/logger.js";
import { signalOf } from "../../calls/channels/call-payloads.js";
import { sendSignal, type SignalingOf } from "../../calls/channels/signal-sender.js";
import type { SignalKind, SignalPush } from "../../calls/projections/live-calls/live-calls-model.js";
import type { CommandBus } from "../../../platform/gateway/command-bus.js";
import { parseMessage, type ChannelSource } from "../../../platform/gateway/pubsub-hub.js";
import type { ChannelOutlet, SocketIdentity } from "../../../platform/phoenix/channel.js";
import { HUDDLE_WORDS } from "../domain/signals.js";
import type { HuddleHandler } from "./huddle-channels.js";
import type { LiveHuddlesReadModel } from "../projections/live-huddles/live-huddles-read-model.js";
import { huddleSignalKeys } from "../projections/signal-relay/huddle-signal-route.js";

/** The signal events of `huddle:{huddleId}`, pushed by clients and to them: the names of the calls' lobby. */
export const HUDDLE_SIGNAL_EVENTS: Readonly<Record<string, SignalKind>> = { "webrtc:offer": "offer", "webrtc:answer": "answer", "webrtc:ice-candidate": "ice-candidate" };

/** The huddles' signals: `quikapp.huddlesignaling.commands`, keyed by the huddle. */
const HUDDLE_SIGNALING: SignalingOf = {
  context: "huddlesignaling",
  roomField: "huddleId",
  commands: { offer: "SendHuddleOffer", answer: "SendHuddleAnswer", "ice-candidate": "SendHuddleIceCandidate" },
  words: HUDDLE_WORDS,
};

/** What the huddles' signaling needs on a gateway. */
export interface HuddleSignalsDeps {
  readonly bus: CommandBus;
  readonly huddles: LiveHuddlesReadModel;
  readonly hub: ChannelSource;
  readonly topicPrefix: string;
  readonly logger: Logger;
}

/**
 * WebRTC signaling inside a huddle, on `huddle:{huddleId}`, exactly as for calls (the calls'
 * payloads, checks and relay): a participant pushes `webrtc:offer` / `webrtc:answer`
 * `{huddleId?, to, sdp}` and `webrtc:ice-candidate` `{huddleId?, to, candidate…}` (`huddleId`
 * defaults to the topic's; another one is `invalid`) for another participant; the recipient's
 * socket joined to that huddle's topic receives the same event with `{huddleId, from, sdp |
 * candidate…}`. Both must be participants of the live huddle as the live-huddles read model shows
 * it (`not_found` for a huddle unknown, over or of another workspace; `not_a_participant`
 * otherwise; `invalid` to oneself), and the huddle aggregate checks the same again.
 */
export class HuddleSignals {
  constructor(private readonly deps: HuddleSignalsDeps) {}

  /** The handlers of the signal events, for the topic's table (`huddleHandlers`). */
  handlers(): Record<string, HuddleHandler> {
    return Object.fromEntries(Object.entries(HUDDLE_SIGNAL_EVENTS).map(([event, kind]): [string, HuddleHandler] => [event, (identity, huddleId, payload) => this.signal(kind, identity, huddleId, payload)]));
  }

  /** A signal pushed on `huddle:{huddleId}` (its payload's `huddleId` already the topic's) → `{}` once on the huddles' signaling topic. */
  async signal(kind: SignalKind, identity: SocketIdentity, huddleId: string, payload: Record<string, unknown>): Promise<Record<string, unknown>> {
    const signal = signalOf(kind, payload);
    const huddle = await this.deps.huddles.huddle(huddleId);
    const room = huddle?.status === "live" ? { workspaceId: huddle.workspaceId, admits: (userId: string) => Object.hasOwn(huddle.participants, userId) } : undefined;
    return sendSignal(this.deps.bus, HUDDLE_SIGNALING, identity, huddleId, room, signal);
  }

  /**
   * Follows the signals for the user of `identity` in the huddle and pushes each to `outlet` as
   * `webrtc:<kind>` (those of the user's workspace only); resolves with the function that stops.
   * Pub/sub does not replay: a signal published while the gateway's subscriber was reconnecting
   * is lost, and the peers' ICE restart is what recovers the connection.
   */
  follow(huddleId: string, identity: SocketIdentity, outlet: ChannelOutlet): Promise<() => void> {
    const channel = huddleSignalKeys(this.deps.topicPrefix).to(huddleId, identity.userId);
    return this.deps.hub.listen(channel, {
      onMessage: (raw) => {
        const signal = parseMessage<SignalPush>(raw, channel, this.deps.logger);
        if (signal !== undefined && signal.workspaceId === identity.workspaceId) outlet.push(`webrtc:${signal.kind}`, signal.payload);
      },
      onResync: () => undefined,
    });
  }
}

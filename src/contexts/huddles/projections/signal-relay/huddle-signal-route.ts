import type { SignalRelayRoute } from "../../../calls/projections/signal-relay/signal-relay.js";

/** The name of the huddles' signal relay: its consumer group and its checkpoints. */
export const HUDDLE_SIGNAL_RELAY = "huddle-signal-relay";

/**
 * The huddles' signals in Redis (`<p>` = topic prefix): the relay's checkpoint
 * `<p>huddle-signals:checkpoint` (apart from the live-huddles keys, which a rebuild of that read
 * model clears), and the pub/sub channel `<p>huddle-signals:to:<huddleId>:<userId>`, which the
 * recipient's socket joined to `huddle:{huddleId}` follows: one channel per participant of a
 * huddle, so a socket hears only its own huddle's signals.
 */
export const huddleSignalKeys = (prefix: string) => ({
  checkpoint: `${prefix}huddle-signals:checkpoint`,
  keyPrefix: `${prefix}huddle-signals:`,
  to: (huddleId: string, userId: string) => `${prefix}huddle-signals:to:${huddleId}:${userId}`,
});

/** The calls' signal relay, for huddles: `quikapp.huddlesignaling.events` to each recipient's `huddle:{huddleId}`. */
export function huddleSignalRoute(prefix: string): SignalRelayRoute {
  const keys = huddleSignalKeys(prefix);
  return {
    name: HUDDLE_SIGNAL_RELAY,
    context: "huddlesignaling",
    keys,
    channel: (push, huddleId) => keys.to(huddleId, push.userId),
  };
}

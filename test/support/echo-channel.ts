import type { ChannelFamily, ChannelOutlet, JoinedChannel, SocketIdentity } from "../../src/platform/phoenix/channel.js";

/** What the echo family saw, for assertions. */
export interface EchoRecord {
  readonly joins: { topic: string; userId: string; connectionId: string; params: Record<string, unknown> }[];
  readonly leaves: string[];
  readonly outlets: Map<string, ChannelOutlet>;
}

export interface EchoFamily extends ChannelFamily {
  readonly record: EchoRecord;
}

/**
 * A channel family for protocol tests, serving `echo:*`:
 * joins succeed (response `{topic, user_id}`) except `echo:forbidden` (`{reason: "forbidden"}`)
 * and `echo:crash` (join throws). Events: `ping` replies ok with its payload; `free` too, saying
 * it was free (not charged against the rate limits); `boom` throws;
 * `push` pushes `pushed` with the payload, then replies ok; `close` closes the channel from the
 * server (`reason: "requested"`) after replying ok; `flood` pushes `count` messages of `size`
 * bytes; `slow` replies after `ms`; anything else is refused with `unknown_event`.
 */
export function createEchoFamily(prefix = "echo:"): EchoFamily {
  const record: EchoRecord = { joins: [], leaves: [], outlets: new Map() };
  return {
    prefix,
    record,
    async join(topic: string, params: Record<string, unknown>, identity: SocketIdentity, outlet: ChannelOutlet) {
      if (topic === `${prefix}forbidden`) return { status: "error", response: { reason: "forbidden" } };
      if (topic === `${prefix}crash`) throw new Error("join crashed on purpose");
      record.joins.push({ topic, userId: identity.userId, connectionId: identity.connectionId, params });
      record.outlets.set(topic, outlet);
      const channel: JoinedChannel = {
        async handleIn(event, payload) {
          switch (event) {
            case "ping":
              return { status: "ok", response: payload };
            case "free":
              return { status: "ok", response: payload, free: true };
            case "boom":
              throw new Error("handler failed on purpose");
            case "push":
              outlet.push("pushed", payload);
              return { status: "ok", response: {} };
            case "close":
              outlet.close("requested");
              return { status: "ok", response: {} };
            case "flood": {
              const filler = "x".repeat(Number(payload.size ?? 1_024));
              for (let i = 0; i < Number(payload.count ?? 1); i++) outlet.push("flood", { i, filler });
              return { status: "ok", response: {} };
            }
            case "slow":
              await new Promise((resolve) => setTimeout(resolve, Number(payload.ms ?? 50)));
              return { status: "ok", response: payload };
            default:
              return { status: "error", response: { reason: "unknown_event" } };
          }
        },
        async leave() {
          record.leaves.push(topic);
        },
      };
      return { status: "ok", response: { topic, user_id: identity.userId }, channel };
    },
  };
}

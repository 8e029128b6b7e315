import type { Channel, Socket } from "phoenix";
import { joinChannel, type Payload } from "./phoenix-client.js";
import { eventually } from "./test-config.js";

/** What a channel received, in order. */
export type Inbox = { event: string; payload: Payload }[];

/** The events a call pushes on `webrtc:lobby`. */
export const LOBBY_EVENTS = ["call:incoming", "call:answered", "call:rejected", "call:ended", "webrtc:offer", "webrtc:answer", "webrtc:ice-candidate"];

/** Joins `topic` on `socket` with the stock client and records the `events` it pushes. */
export async function listen(socket: Socket, topic: string, events: readonly string[]): Promise<{ channel: Channel; inbox: Inbox }> {
  const channel = socket.channel(topic, {});
  const inbox: Inbox = [];
  for (const event of events) channel.on(event, (payload: Payload) => void inbox.push({ event, payload }));
  await joinChannel(channel);
  return { channel, inbox };
}

/** The `event`s of `inbox` whose payload has the values of `match`. */
export function received(inbox: Inbox, event: string, match: Payload = {}): Inbox {
  return inbox.filter((item) => item.event === event && Object.entries(match).every(([key, value]) => JSON.stringify(item.payload[key]) === JSON.stringify(value)));
}

/** The payload of the first `event` matching `match`, once it has arrived (10 s at most). */
export async function arrives(inbox: Inbox, event: string, match: Payload = {}): Promise<Payload> {
  await eventually(async () => (received(inbox, event, match).length > 0 ? true : undefined), 10_000, `${event} ${JSON.stringify(match)}`);
  return received(inbox, event, match)[0]!.payload;
}

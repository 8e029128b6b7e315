import type { Channel, Socket } from "phoenix";
import { joinChannel, type Payload } from "./phoenix-client.js";
import { eventually } from "./test-config.js";

/** What a channel received, in order. */
export type Inbox = { event: string; payload: Payload }[];

/** A joined channel and what it received of the events it listens to. */
export interface Listening {
  readonly channel: Channel;
  readonly inbox: Inbox;
}

/** Joins `topic` on `socket` with the stock client and records the `events` it pushes. */
export async function listen(socket: Socket, topic: string, events: readonly string[]): Promise<Listening> {
  const channel = socket.channel(topic, {});
  const inbox: Inbox = [];
  for (const event of events) channel.on(event, (payload: Payload) => void inbox.push({ event, payload }));
  await joinChannel(channel);
  return { channel, inbox };
}

/** The pushes of `event` in `inbox` whose payload has the fields of `match` (compared as JSON). */
export function received(inbox: Inbox, event: string, match: Payload = {}): Inbox {
  return inbox.filter((item) => item.event === event && Object.entries(match).every(([key, value]) => JSON.stringify(item.payload[key]) === JSON.stringify(value)));
}

/** The payload of the first push of `event` matching `match`, once it has arrived (within 10 s). */
export async function arrives(inbox: Inbox, event: string, match: Payload = {}): Promise<Payload> {
  await eventually(async () => (received(inbox, event, match).length > 0 ? true : undefined), 10_000, `${event} ${JSON.stringify(match)}`);
  return received(inbox, event, match)[0]!.payload;
}

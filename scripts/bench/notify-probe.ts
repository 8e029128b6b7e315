/**
 * The sender of the notify latency row, forked by the benchmark: one user on the stock `phoenix`
 * client, joined to `chat:{id}` of every conversation (`open`), sends rounds of one message to
 * each conversation in turn, evenly spread so that each conversation gets one every `intervalMs`
 * (`send`); the socket closes with the worker. It answers, per
 * message, its id, the message event's `sentAt` (the send's reply carries the event's
 * `occurredAt`) and when the client pushed it; the benchmark matches these with the requests the
 * provider stand-ins received.
 */
import { Socket, type Channel } from "phoenix";
import { WebSocket } from "ws";
import { token } from "../bench-support.js";
import { serveWorker } from "./processes.js";
import { epochMs } from "./stats.js";
import { sleep } from "../../src/platform/sleep.js";

export interface NotifyOpenArgs {
  /** The Phoenix socket endpoint (`ws://host:port/socket/websocket`). */
  readonly socketUrl: string;
  readonly sender: string;
  readonly workspace: string;
  readonly conversationIds: readonly string[];
}

export interface NotifySendArgs {
  /** The rounds to send, numbered from `firstRound`: one message per conversation each. */
  readonly firstRound: number;
  readonly rounds: number;
  /** Time between two messages of one conversation. */
  readonly intervalMs: number;
}

/** A message the service accepted. */
export interface SentMessage {
  readonly conversationId: string;
  readonly messageId: string;
  /** Which of the conversation's messages (0-based). */
  readonly round: number;
  /** The message event's `occurredAt` (epoch ms, the service's clock). */
  readonly sentAt: number;
  /** When the client pushed `message:send` (epoch ms with µs, this machine's clock). */
  readonly pushedAt: number;
}

export interface NotifySendResult {
  readonly messages: SentMessage[];
  /** Sends refused or unanswered within 10 s, with the first reason. */
  readonly refused: number;
  readonly firstRefusal?: string;
}

const WAIT_MS = 10_000;

function join(channel: Channel, topic: string): Promise<void> {
  return new Promise((resolve, reject) =>
    channel
      .join()
      .receive("ok", () => resolve())
      .receive("error", (response: unknown) => reject(new Error(`${topic} refused the sender: ${JSON.stringify(response)}`)))
      .receive("timeout", () => reject(new Error(`joining ${topic} timed out`))),
  );
}

let sender: { readonly socket: Socket; readonly channels: readonly Channel[]; readonly conversationIds: readonly string[] } | undefined;

/** Connects the sender and joins every conversation's `chat:` topic. */
async function open(args: NotifyOpenArgs): Promise<void> {
  const socket = new Socket(args.socketUrl.replace(/\/websocket$/, ""), { transport: WebSocket, params: { token: await token(args.sender, args.workspace) } });
  socket.connect();
  const channels = args.conversationIds.map((id) => socket.channel(`chat:${id}`, {}));
  sender = { socket, channels, conversationIds: args.conversationIds };
  await Promise.all(channels.map((channel, i) => join(channel, `chat:${args.conversationIds[i]}`)));
}

/** Sends the rounds on their schedule; resolves once every send is answered. */
async function send(args: NotifySendArgs): Promise<NotifySendResult> {
  if (sender === undefined) throw new Error("send before open");
  const { channels, conversationIds } = sender;
  const messages: SentMessage[] = [];
  const replies: Promise<void>[] = [];
  let refused = 0;
  let firstRefusal: string | undefined;
  const refuse = (reason: string) => {
    refused += 1;
    firstRefusal ??= reason;
  };
  const spacingMs = args.intervalMs / channels.length;
  const startedAt = epochMs();
  for (let n = 0; n < args.rounds * channels.length; n += 1) {
    const round = args.firstRound + Math.floor(n / channels.length);
    const c = n % channels.length;
    // A schedule, not a pace: a late send does not push the next ones back.
    await sleep(Math.max(0, startedAt + n * spacingMs - epochMs()));
    const pushedAt = epochMs();
    replies.push(
      new Promise<void>((resolve) =>
        channels[c]!
          .push("message:send", { content: `notify bench ${round}`, clientMsgId: `notify:${c}:${round}` }, WAIT_MS)
          .receive("ok", ({ id, sentAt }: { id: string; sentAt: number }) => resolve(void messages.push({ conversationId: conversationIds[c]!, messageId: id, round, sentAt, pushedAt })))
          .receive("error", (response: unknown) => resolve(refuse(JSON.stringify(response))))
          .receive("timeout", () => resolve(refuse(`no reply within ${WAIT_MS} ms`))),
      ),
    );
  }
  await Promise.all(replies);
  return { messages, refused, ...(firstRefusal === undefined ? {} : { firstRefusal }) };
}

const api = { open, send };

export type NotifyProbeApi = typeof api;

serveWorker(api);

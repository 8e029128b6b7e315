/**
 * The steady message load: senders pushing `message:send` at a fixed rate with client retries
 * (a push answered with a temporary reason, or not answered, is sent again with the SAME
 * clientMsgId until acknowledged), and receivers that record every seq they are shown, rejoining
 * with `last_seq` after every reconnect (the phoenix client re-evaluates the join params).
 */
import type { Channel, Push } from "phoenix";
import { sleep } from "../../src/platform/sleep.js";

export type Payload = Record<string, unknown>;

/** A send the service acknowledged. */
export interface Ack {
  readonly clientMsgId: string;
  readonly conversationId: string;
  readonly id: string;
  readonly seq: number;
  /** When the message was first pushed, when the acknowledged attempt was, and when the reply came. */
  readonly firstSentAt: number;
  readonly attemptSentAt: number;
  readonly ackAt: number;
  readonly attempts: number;
}

/** A push refused for a reason a retry cannot fix (the message is given up). */
export interface Refusal {
  readonly clientMsgId: string;
  readonly at: number;
  readonly response: Payload;
}

/** Longer than the gateway's 10 s command timeout, so a lost command is answered `timeout` first. */
const PUSH_TIMEOUT_MS = 15_000;
/** Reasons the README tells a client to retry with the same clientMsgId. */
const TEMPORARY = new Set(["timeout", "unavailable", "internal", "rate_limited", "overloaded", "shutting_down"]);

const joinPushOf = (channel: Channel) => (channel as unknown as { joinPush: Push }).joinPush;

/** Joins once; the phoenix client rejoins by itself after that. */
export const joinOnce = (channel: Channel, timeoutMs = 30_000) =>
  new Promise<Payload>((resolve, reject) =>
    channel
      .join(timeoutMs)
      .receive("ok", (response: Payload) => resolve(response))
      .receive("error", (response: Payload) => reject(new Error(`join ${channel.topic}: ${JSON.stringify(response)}`)))
      .receive("timeout", () => reject(new Error(`join ${channel.topic} timed out`))),
  );

const push = (channel: Channel, payload: Payload) =>
  new Promise<{ ok: boolean; response: Payload }>((resolve) =>
    channel
      .push("message:send", payload, PUSH_TIMEOUT_MS)
      .receive("ok", (response: Payload) => resolve({ ok: true, response }))
      .receive("error", (response: Payload) => resolve({ ok: false, response }))
      .receive("timeout", () => resolve({ ok: false, response: { reason: "timeout", message: "no reply within the client's push timeout" } })),
  );

/**
 * One member sending `rate` messages per second into one conversation, at most `maxInFlight`
 * unacknowledged at a time (a slot due while that many wait is skipped, as a client's send
 * queue would hold the user back).
 */
export class Sender {
  readonly acks = new Map<string, Ack>();
  readonly refusals: Refusal[] = [];
  readonly retries = new Map<string, number>();
  /** clientMsgId → first push time, for sends not yet acknowledged. */
  readonly pending = new Map<string, number>();
  skipped = 0;
  private generating = false;
  private abandoned = false;
  private timer: NodeJS.Timeout | undefined;
  private next = 0;

  constructor(
    readonly label: string,
    readonly conversationId: string,
    private readonly channel: Channel,
    private readonly rate: number,
    private readonly maxInFlight: number,
  ) {}

  start(): void {
    this.generating = true;
    const interval = 1_000 / this.rate;
    let due = Date.now();
    const tick = () => {
      if (!this.generating) return;
      for (const now = Date.now(); due <= now; due += interval) {
        if (this.pending.size < this.maxInFlight) void this.deliver(`${this.label}-${this.next++}`);
        else this.skipped += 1;
      }
      this.timer = setTimeout(tick, Math.max(0, due - Date.now()));
    };
    tick();
  }

  /** Stops creating messages; those in flight keep being retried. */
  stop(): void {
    this.generating = false;
    clearTimeout(this.timer);
  }

  /** Resolves once nothing is in flight, or after `timeoutMs`, with what is still in flight. */
  async settle(timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (this.pending.size > 0 && Date.now() < deadline) await sleep(100);
    return this.pending.size;
  }

  /** Stops retrying; resolves the clientMsgIds given up unacknowledged. */
  abandon(): string[] {
    this.stop();
    this.abandoned = true;
    return [...this.pending.keys()];
  }

  private async deliver(clientMsgId: string): Promise<void> {
    const firstSentAt = Date.now();
    this.pending.set(clientMsgId, firstSentAt);
    for (let attempts = 1; !this.abandoned; attempts += 1) {
      const attemptSentAt = Date.now();
      const reply = await push(this.channel, { type: "text", content: `chaos ${clientMsgId}`, clientMsgId });
      if (this.abandoned) return;
      if (reply.ok) {
        const { id, seq } = reply.response;
        this.acks.set(clientMsgId, {
          clientMsgId,
          conversationId: this.conversationId,
          id: String(id),
          seq: Number(seq),
          firstSentAt,
          attemptSentAt,
          ackAt: Date.now(),
          attempts,
        });
        this.pending.delete(clientMsgId);
        return;
      }
      const reason = String(reply.response.reason);
      if (!TEMPORARY.has(reason)) {
        this.refusals.push({ clientMsgId, at: Date.now(), response: reply.response });
        this.pending.delete(clientMsgId);
        return;
      }
      this.retries.set(reason, (this.retries.get(reason) ?? 0) + 1);
      const retryAfter = Number(reply.response.retry_after_ms);
      await sleep(Number.isFinite(retryAfter) && retryAfter > 0 ? Math.min(retryAfter, 5_000) : 250);
    }
  }
}

/** Reads history after a seq (REST, one page); used when a rejoin could not recover everything. */
export type HistoryPage = (conversationId: string, afterSeq: number) => Promise<Payload[]>;

/**
 * A member of a conversation recording every seq it is shown: live `message:new`, the
 * `messages` of every join reply and, after a join answered `recovered: false`, the pages of
 * REST history up to the reply's `last_seq` (live messages wait meanwhile, as a client would
 * hold them).
 */
export class Receiver {
  readonly seen: number[] = [];
  joins = 0;
  unrecovered = 0;
  restPages = 0;
  private last = 0;
  private filling = false;
  private held: Payload[] = [];

  private constructor(
    readonly user: string,
    readonly gateway: string,
    readonly conversationId: string,
  ) {}

  static async join(user: string, gateway: string, channelOf: (params: () => Payload) => Channel, conversationId: string, page: HistoryPage): Promise<Receiver> {
    const receiver = new Receiver(user, gateway, conversationId);
    const channel = channelOf(() => ({ last_seq: receiver.last }));
    channel.on("message:new", (message: Payload) => {
      if (receiver.filling) receiver.held.push(message);
      else receiver.see(message);
    });
    const joined = joinOnce(channel);
    // Hooks on the join push stay for every rejoin.
    joinPushOf(channel).receive("ok", (response: Payload) => {
      receiver.joins += 1;
      for (const message of (response.messages as Payload[] | undefined) ?? []) receiver.see(message);
      if (response.recovered === false) {
        receiver.unrecovered += 1;
        void receiver.fill(Number(response.last_seq), page);
      }
    });
    await joined;
    return receiver;
  }

  get lastSeq(): number {
    return this.last;
  }

  private see(message: Payload): void {
    const seq = Number(message.seq);
    this.seen.push(seq);
    this.last = Math.max(this.last, seq);
  }

  private async fill(upTo: number, page: HistoryPage): Promise<void> {
    this.filling = true;
    try {
      for (const deadline = Date.now() + 60_000; this.last < upTo && Date.now() < deadline; ) {
        const messages = await page(this.conversationId, this.last).catch(() => []);
        this.restPages += 1;
        for (const message of messages) if (Number(message.seq) <= upTo) this.see(message);
        if (messages.length === 0) await sleep(500);
      }
    } finally {
      this.filling = false;
      for (const message of this.held.splice(0)) this.see(message);
    }
  }
}

/**
 * Row 8: notify latency, from a message event to the push provider's request. For each batching
 * window of the plan, a `quikchat start` of its own (every role, a topic prefix under the run's)
 * pushes to an APNs stand-in and an FCM stand-in running in this process (test/support, the ones
 * the notifier's tests use). Conversations of one connected sender (./notify-probe.ts) and
 * offline recipients, each with an iPhone (APNs) and an Android phone (FCM) registered over REST;
 * each conversation gets one message every few seconds, so each message is its own burst. For
 * each push: the message event's `sentAt` (the send's reply) → the moment the stand-in received
 * the provider request (matched by the push's `messageId` and the device token); and whether
 * every message reached every device exactly once.
 */
import { randomUUID } from "node:crypto";
import { apnsDeviceToken, fcmRegistrationToken, startPushStandIns, type PushStandIns } from "../../test/support/push-stand-ins.js";
import { attempt, range, type Context } from "./context.js";
import type { NotifyProbeApi, SentMessage } from "./notify-probe.js";
import { forkWorker } from "./processes.js";
import { failed, int, latency, row, verdict, type Row } from "./report.js";
import { createConversation, memberCount, registerDevice, startService } from "./service.js";
import { mapLimit, summarize, type Summary } from "./stats.js";
import { sleep } from "../../src/platform/sleep.js";

const WORKSPACE = "bench-notify";
const SENDER = "notify-sender";
/** How long pushes are waited for after the last send, beyond the batching window. */
const DRAIN_MS = 20_000;
/** How long the uncounted first round may take to reach every device. */
const WARM_UP_LIMIT_MS = 60_000;
/** How long the stand-ins are watched for repeats once every expected push has arrived. */
const REPEAT_WATCH_MS = 2_000;

type Provider = "apns" | "fcm";

/** A push owed or made: one message to one device. */
const pushKey = (messageId: string | undefined, token: string) => `${messageId}|${token}`;

/** A push-capable device of a recipient. */
interface Device {
  readonly token: string;
  readonly provider: Provider;
  readonly conversationId: string;
}

/** A provider request the stand-ins answered 200, as far as this row cares. */
interface Arrival {
  readonly token: string;
  readonly provider: Provider;
  readonly messageId: string | undefined;
  /** How many messages the push summarises (`data.count`). */
  readonly count: number;
  readonly receivedAt: number;
}

export interface ProviderFigures {
  /** The message event's `sentAt` → the request at the stand-in, counted rounds only. */
  readonly fromEventMs: Summary;
  /** The client's `message:send` push → the request at the stand-in, counted rounds only. */
  readonly fromSendMs: Summary;
  /** Pushes owed (every message to every device of this provider), the uncounted round included. */
  readonly expected: number;
  /** Of those, how many arrived at least once, never, and the repeats beyond the first. */
  readonly arrived: number;
  readonly missing: number;
  readonly duplicated: number;
}

export interface NotifyWindowResult {
  readonly windowMs: number;
  readonly messages: number;
  readonly refusedSends: number;
  /** From the first send of the uncounted round until every push it owed had arrived (NaN: not within a minute). */
  readonly warmUpMs: number;
  readonly apns: ProviderFigures;
  readonly fcm: ProviderFigures;
  /** Pushes to this window's devices naming no message it owed them, and pushes summarising several messages (bursts that merged). */
  readonly unexpected: number;
  readonly merged: number;
  /** Provider requests the stand-ins did not answer 200 (none expected: they are told to refuse nothing). */
  readonly notAccepted: number;
}

function arrivals(standIns: PushStandIns, tokens: ReadonlyMap<string, Device>): { accepted: Arrival[]; notAccepted: number } {
  const all = [
    ...standIns.apns.received.map((push) => ({ token: push.token, provider: "apns" as const, data: push.payload as Record<string, unknown> | undefined, status: push.status, receivedAt: push.receivedAt })),
    ...standIns.fcm.received.map((sent) => ({ token: String(sent.message?.token), provider: "fcm" as const, data: sent.message?.data as Record<string, unknown> | undefined, status: sent.status, receivedAt: sent.receivedAt })),
  ].filter((push) => tokens.has(push.token));
  return {
    accepted: all
      .filter((push) => push.status === 200)
      .map(({ token, provider, data, receivedAt }) => ({ token, provider, messageId: typeof data?.messageId === "string" ? data.messageId : undefined, count: Number(data?.count ?? 1), receivedAt })),
    notAccepted: all.filter((push) => push.status !== 200).length,
  };
}

async function untilMembers(base: string, conversationId: string, members: number): Promise<void> {
  for (const deadline = Date.now() + 15_000; (await memberCount(base, SENDER, conversationId, WORKSPACE).catch(() => 0)) < members; await sleep(100)) {
    if (Date.now() > deadline) throw new Error(`conversation ${conversationId} did not show its ${members} members within 15 s`);
  }
}

async function measureWindow(context: Context, standIns: PushStandIns, windowMs: number): Promise<NotifyWindowResult> {
  const { conversations, recipients, rounds, intervalMs } = context.plan.notify;
  const service = await startService(`notify-${windowMs}ms`, "all", `${context.prefix}notify${windowMs}.`, context.logDir, { ...standIns.env, NOTIFY_BATCH_WINDOW_MS: String(windowMs) });
  try {
    context.progress(`  window ${windowMs} ms: ${conversations} conversations of a sender and ${recipients} offline recipients, each with an iPhone and an Android phone`);
    const members = (c: number) => range(recipients).map((r) => `notify-${c}-${r}`);
    const ids = await mapLimit(range(conversations), 4, (c) => createConversation(service.base, SENDER, members(c), WORKSPACE));
    await mapLimit(ids, 4, (id) => untilMembers(service.base, id, recipients + 1));
    const devices = new Map<string, Device>();
    const owners = ids.flatMap((conversationId, c) => members(c).map((user) => ({ user, conversationId })));
    await mapLimit(owners, 8, async ({ user, conversationId }) => {
      for (const [platform, provider, pushToken] of [["ios", "apns", apnsDeviceToken()], ["android", "fcm", fcmRegistrationToken()]] as const) {
        await registerDevice(service.base, user, WORKSPACE, { deviceId: randomUUID(), platform, pushProvider: provider, pushToken });
        devices.set(pushToken, { token: pushToken, provider, conversationId });
      }
    });

    const owed = new Map<string, { message: SentMessage; device: Device }>();
    let refusedSends = 0;
    const probe = await forkWorker<NotifyProbeApi>("./notify-probe.ts", "notify-probe");
    // Sends rounds, then waits up to `drainMs` for every push they owe; resolves with the time from
    // the first send to the last of those pushes (NaN: some did not arrive).
    const sendRounds = async (firstRound: number, count: number, drainMs: number) => {
      const sent = await probe.call("send", { firstRound, rounds: count, intervalMs });
      refusedSends += sent.refused;
      const keys: string[] = [];
      for (const message of sent.messages) {
        for (const device of devices.values()) {
          if (device.conversationId !== message.conversationId) continue;
          keys.push(pushKey(message.messageId, device.token));
          owed.set(pushKey(message.messageId, device.token), { message, device });
        }
      }
      const firstPushedAt = Math.min(...sent.messages.map((message) => message.pushedAt));
      for (const deadline = Date.now() + drainMs; Date.now() < deadline; await sleep(100)) {
        const arrived = new Map(arrivals(standIns, devices).accepted.map((a) => [pushKey(a.messageId, a.token), a.receivedAt]));
        if (keys.every((key) => arrived.has(key))) return Math.max(...keys.map((key) => arrived.get(key)!)) - firstPushedAt;
      }
      return NaN;
    };
    let warmUpMs: number;
    try {
      await probe.call("open", { socketUrl: service.socketUrl, sender: SENDER, workspace: WORKSPACE, conversationIds: ids });
      // An uncounted round first, waited for whole: the first pushes pay for the providers'
      // connections and tokens, and for the notifier's consumer group to be assigned.
      context.progress(`  window ${windowMs} ms: one uncounted message per conversation, every push waited for`);
      warmUpMs = await sendRounds(0, 1, WARM_UP_LIMIT_MS);
      context.progress(`  window ${windowMs} ms: ${rounds} messages per conversation, one every ${intervalMs / 1000} s`);
      await sendRounds(1, rounds, windowMs + DRAIN_MS);
    } finally {
      await probe.stop();
    }
    await sleep(REPEAT_WATCH_MS);

    const { accepted, notAccepted } = arrivals(standIns, devices);
    const byKey = new Map<string, Arrival[]>();
    for (const arrival of accepted) {
      const key = pushKey(arrival.messageId, arrival.token);
      byKey.set(key, [...(byKey.get(key) ?? []), arrival]);
    }
    const figures = (provider: Provider): ProviderFigures => {
      const mine = [...owed].filter(([, { device }]) => device.provider === provider);
      const fromEvent: number[] = [];
      const fromSend: number[] = [];
      let arrived = 0;
      let duplicated = 0;
      for (const [key, { message }] of mine) {
        const made = byKey.get(key);
        if (made === undefined) continue;
        arrived += 1;
        duplicated += made.length - 1;
        if (message.round === 0) continue;
        const first = Math.min(...made.map((arrival) => arrival.receivedAt));
        fromEvent.push(first - message.sentAt);
        fromSend.push(first - message.pushedAt);
      }
      return { fromEventMs: summarize([Float64Array.from(fromEvent)]), fromSendMs: summarize([Float64Array.from(fromSend)]), expected: mine.length, arrived, missing: mine.length - arrived, duplicated };
    };
    return {
      windowMs,
      messages: new Set([...owed.values()].map(({ message }) => message.messageId)).size,
      refusedSends,
      warmUpMs,
      apns: figures("apns"),
      fcm: figures("fcm"),
      unexpected: accepted.filter((arrival) => !owed.has(pushKey(arrival.messageId, arrival.token))).length,
      merged: accepted.filter((arrival) => arrival.count > 1).length,
      notAccepted,
    };
  } finally {
    await service.stop();
  }
}

function windowRows(result: NotifyWindowResult | Error, windowMs: number): Row[] {
  const label = `NOTIFY_BATCH_WINDOW_MS=${int(windowMs)}`;
  if (result instanceof Error) return [row("8", `notify latency, ${label}`, { ours: failed(result) })];
  const provider = (name: string, figures: ProviderFigures) =>
    row("8", `notify latency, ${label}: message event (sentAt) → ${name} request at the stand-in, p50 / p99 / max ms (pushes)`, {
      ours: `${latency(figures.fromEventMs)} (${int(figures.fromEventMs.count)})`,
    });
  const { apns, fcm } = result;
  const expected = apns.expected + fcm.expected;
  const missing = apns.missing + fcm.missing;
  const duplicated = apns.duplicated + fcm.duplicated;
  const notes = [
    `uncounted first round: every push ${Number.isNaN(result.warmUpMs) ? `not within ${WARM_UP_LIMIT_MS / 1000} s` : `within ${(result.warmUpMs / 1000).toFixed(1)} s`}`,
    result.refusedSends > 0 ? `${result.refusedSends} sends refused` : "",
    result.unexpected > 0 ? `${result.unexpected} pushes for no message owed` : "",
    result.merged > 0 ? `${result.merged} pushes of merged bursts` : "",
    result.notAccepted > 0 ? `${result.notAccepted} requests not answered 200` : "",
  ].filter((note) => note !== "");
  return [
    provider("APNs", apns),
    provider("FCM", fcm),
    row("8", `notify, ${label}: pushes expected / received (APNs + FCM, ${int(result.messages)} messages), missing / duplicated`, {
      ours: `${int(expected)} / ${int(apns.arrived + fcm.arrived + duplicated)}, ${int(missing)} / ${int(duplicated)}; ${notes.join(", ")}`,
      goal: `exactly once: ${verdict(missing === 0 && duplicated === 0 && result.refusedSends === 0)}`,
    }),
  ];
}

export async function notifySection(context: Context): Promise<Row[]> {
  const { windowsMs, conversations, rounds, intervalMs } = context.plan.notify;
  context.progress(`8. notify latency: message event → APNs / FCM stand-in, batching windows ${windowsMs.join(" and ")} ms, ${conversations * rounds} counted messages each`);
  if (context.prepared !== undefined) return [row("8", "notify latency", { ours: failed(context.prepared) })];
  const standIns = await startPushStandIns("notify-bench");
  const results: (NotifyWindowResult | Error)[] = [];
  try {
    for (const windowMs of windowsMs) results.push(await attempt(() => measureWindow(context, standIns, windowMs)));
  } finally {
    await standIns.close();
  }
  context.raw.notify = { intervalMs, windows: results.map((result, i) => (result instanceof Error ? { windowMs: windowsMs[i], error: result.message } : result)) };
  return results.flatMap((result, i) => windowRows(result, windowsMs[i]!));
}

/**
 * Measures the message loop end to end: a fresh service process (`quikchat start`, all roles,
 * on the local stack), one conversation of MEMBERS members each connected with the stock
 * phoenix client, one of them sending RATE messages per second for SECONDS seconds. Reports
 * send→reply and send→receive latency (p50/p99/max) and loss and duplicate counts, and writes
 * them to bench-results/loop-latency.json.
 *
 *   npx tsx scripts/loop-latency.ts            # RATE=500 MEMBERS=10 SECONDS=20
 *   RATE=2000 SECONDS=10 npx tsx scripts/loop-latency.ts
 *   PROFILE_DIR=prof npx tsx scripts/loop-latency.ts   # --cpu-prof of the service process
 */
import { mkdir, writeFile } from "node:fs/promises";
import { performance } from "node:perf_hooks";
import { Socket, type Channel } from "phoenix";
import { WebSocket } from "ws";
import { startBenchService, summary, token } from "./bench-support.js";

const RATE = Number(process.env.RATE ?? 500);
const MEMBERS = Number(process.env.MEMBERS ?? 10);
const SECONDS = Number(process.env.SECONDS ?? 20);

async function main(): Promise<void> {
  const { service, port, base } = await startBenchService({ RATE_LIMIT_MESSAGES_PER_MIN: "10000000", RATE_LIMIT_TOTAL_PER_MIN: "10000000" });
  try {
    const users = Array.from({ length: MEMBERS }, (_, i) => `member-${i}`);
    const created = await fetch(`${base}/api/conversations`, {
      method: "POST",
      headers: { authorization: `Bearer ${await token(users[0]!)}`, "content-type": "application/json" },
      body: JSON.stringify({ type: "group", members: users.slice(1), name: "bench" }),
    });
    const { id } = (await created.json()) as { id: string };

    const sentAt = new Map<string, number>();
    const replyMs: number[] = [];
    const receiveMs: number[] = [];
    const received = new Map<string, number>();
    const channels: Channel[] = [];
    for (const user of users) {
      const socket = new Socket(`ws://127.0.0.1:${port}/socket`, { transport: WebSocket, params: { token: await token(user) } });
      socket.connect();
      const channel = socket.channel(`chat:${id}`, {});
      channel.on("message:new", (message: { clientMsgId: string }) => {
        if (message.clientMsgId.startsWith("w-")) return;
        const key = `${user}/${message.clientMsgId}`;
        received.set(key, (received.get(key) ?? 0) + 1);
        const at = sentAt.get(message.clientMsgId);
        if (at !== undefined && received.get(key) === 1) receiveMs.push(performance.now() - at);
      });
      await new Promise<void>((resolve, reject) => channel.join().receive("ok", () => resolve()).receive("error", reject));
      channels.push(channel);
    }

    const sender = channels[0]!;
    // Warm up until the roles have settled (group assignments, restores): replies come fast.
    for (let i = 0, fast = 0; fast < 20 && i < 2_000; i += 1) {
      const t0 = performance.now();
      await new Promise<void>((resolve) => sender.push("message:send", { content: "warm-up", clientMsgId: `w-${i}` }, 30_000).receive("ok", () => resolve()).receive("error", () => resolve()).receive("timeout", () => resolve()));
      fast = performance.now() - t0 < 100 ? fast + 1 : 0;
    }
    const total = RATE * SECONDS;
    let failed = 0;
    const failures = new Map<string, number>();
    const started = performance.now();
    for (let i = 0; i < total; i += 1) {
      const due = started + (i * 1000) / RATE;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      const clientMsgId = `m-${i}`;
      sentAt.set(clientMsgId, performance.now());
      sender
        .push("message:send", { content: `message ${i}`, clientMsgId }, 30_000)
        .receive("ok", () => void replyMs.push(performance.now() - sentAt.get(clientMsgId)!))
        .receive("error", (response: { reason?: string }) => {
          failed += 1;
          const reason = response?.reason ?? "unknown";
          failures.set(reason, (failures.get(reason) ?? 0) + 1);
        })
        .receive("timeout", () => void (failed += 1));
    }
    const sendSeconds = (performance.now() - started) / 1000;
    const expected = total * MEMBERS;
    for (const deadline = performance.now() + 15_000; performance.now() < deadline && receiveMs.length < expected; ) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const duplicates = [...received.values()].filter((n) => n > 1).length;
    const result = {
      rate: RATE,
      members: MEMBERS,
      seconds: SECONDS,
      achievedRate: Math.round(total / sendSeconds),
      sendToReplyMs: summary(replyMs),
      sendToReceiveMs: summary(receiveMs),
      failedSends: failed,
      failuresByReason: Object.fromEntries(failures),
      lostDeliveries: expected - received.size,
      duplicateDeliveries: duplicates,
    };
    console.log(JSON.stringify(result, null, 2));
    await mkdir("bench-results", { recursive: true });
    await writeFile("bench-results/loop-latency.json", `${JSON.stringify(result, null, 2)}\n`);
    await writeFile("bench-results/loop-latency.metrics.txt", await (await fetch(`${base}/metrics`)).text());
  } finally {
    service.kill("SIGTERM");
  }
  process.exit(0);
}

await main();

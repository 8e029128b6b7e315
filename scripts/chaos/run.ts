/**
 * `npm run chaos`: the §11 guarantees under faults, one after the other, during a steady load.
 *
 * The service runs as separate role processes (two gateways, a processor, a projector; one
 * fresh topic prefix and JWT secret) under a supervisor that restarts a role exiting by itself.
 * The load, on the stock phoenix client: CHAOS_CONVERSATIONS conversations (4), each with a
 * sender pushing CHAOS_RATE messages/s (25) and retrying a timed-out or temporarily refused push
 * with the same clientMsgId, and two receivers (one per gateway) rejoining with `last_seq`; a
 * presence watcher and CHAOS_IDLE_USERS connected users (12), some of whom leave and arrive
 * during every fault. Faults, each measured from the moment it is in effect:
 *
 *   1. kill -9 gateway A (of A and B; restarted on its port: A's clients reconnect, B's go on)
 *   2. kill -9 the processor (restarted 11 s later: pushes in flight time out and are retried)
 *   3. kill -9 the projector
 *   4. the Kafka broker stopped and started (the local stack's functions, same data)
 *   5. the machine's Redis restarted (nothing kept: presence, caches, checkpoints are lost)
 *   6. the machine's MariaDB stopped cleanly and started
 *
 * After each fault's recovery (and 5 s more of load) every acknowledged message so far is
 * checked against history and every receiver against 1..N; at the end the load stops and a
 * last check covers the rest. Prints one row per fault, writes bench-results/chaos.json, and
 * exits 1 if any fault was not survived. Redis, MariaDB and Kafka are put back on every way out.
 * CHAOS_FAULTS=2,5 runs only those faults.
 */
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { tokenFor } from "../../test/support/tokens.js";
import { formatTable, writeJson, type FaultRow } from "./chaos-report.js";
import { ClientSockets } from "./client-sockets.js";
import { auditHistory, auditReceiver, historyPage, readHistory, type HistoryFindings, type HistoryRow, type ReceiverFindings } from "./delivery-audit.js";
import { MachineServices } from "./machine-services.js";
import { joinOnce, Receiver, Sender, type Ack, type Payload } from "./message-load.js";
import { comparePresence, onlineOverRest, watchPresence, type PresenceLook, type PresenceWatcher } from "./presence-check.js";
import { chaosPrefix, deleteRunData, staleRun } from "./run-leftovers.js";
import { SupervisedRoles, type RoleSlot } from "./supervised-roles.js";

const CONVERSATIONS = Number(process.env.CHAOS_CONVERSATIONS ?? 4);
const RATE_PER_SENDER = Number(process.env.CHAOS_RATE ?? 25);
const IDLE_USERS = Number(process.env.CHAOS_IDLE_USERS ?? 12);
const MAX_IN_FLIGHT = 50;
/** Load before each fault, and after recovery before the check. */
const PRE_FAULT_MS = 5_000;
const STEADY_AFTER_MS = 5_000;
/** Bounds, counted from the moment the faulted component is back. */
const RECOVERY_BOUND_MS = 120_000;
const PRESENCE_BOUND_MS = 60_000;
/** Bounds of the check: history to hold the last acknowledged seq, then receivers to have it. */
const HISTORY_BOUND_MS = 90_000;
const RECEIVER_BOUND_MS = 30_000;
/** At the end: how long the sends still in flight may take to be acknowledged. */
const DRAIN_BOUND_MS = 90_000;
const RESULTS = "bench-results/chaos.json";

const startedAt = Date.now();
const runSeconds = Math.floor(startedAt / 1000);
const prefix = chaosPrefix(runSeconds);
const secret = randomBytes(24).toString("hex");
const workspace = `chaos-${runSeconds}`;
const logDir = join(tmpdir(), `quikchat-chaos-${runSeconds}`);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const since = (t: number) => Math.round((Date.now() - t) / 100) / 10;
const stamp = () => `+${((Date.now() - startedAt) / 1000).toFixed(1)}s`;
let stepNotes: string[] = [];
const note = (line: string) => {
  console.log(`[chaos ${stamp()}] ${line}`);
  stepNotes.push(`${stamp()} ${line}`);
};

const tokens = new Map<string, Promise<string>>();
const token = (user: string) => {
  let found = tokens.get(user);
  if (found === undefined) {
    found = tokenFor(user, workspace, 4 * 3_600, secret);
    tokens.set(user, found);
  }
  return found;
};

interface Conversation {
  readonly id: string;
  readonly owner: string;
}

interface World {
  readonly roles: SupervisedRoles;
  readonly gatewayA: RoleSlot;
  readonly gatewayB: RoleSlot;
  readonly processor: RoleSlot;
  readonly projector: RoleSlot;
  readonly clients: ClientSockets;
  readonly conversations: Conversation[];
  readonly senders: Sender[];
  readonly receivers: Receiver[];
  readonly watcherUser: string;
  watcher: PresenceWatcher | undefined;
  readonly idle: { user: string; gateway: RoleSlot }[];
  nextIdle: number;
  /** What the previous check found, to charge each step with what is new. */
  previous: Cumulative;
  /** Presence as the previous step left it, to tell inherited discrepancies from new ones. */
  lastPresence: PresenceLook | undefined;
}

/** What presence shows wrongly, per view, and which of it the previous step already showed. */
function presenceProblem(look: PresenceLook, before: PresenceLook | undefined): string {
  const wrong = (view: { extra: string[]; absent: string[] } | undefined) =>
    view === undefined ? "no answer" : `listed but gone [${view.extra.join(", ")}], connected but not listed [${view.absent.join(", ")}]`;
  const keys = (l: PresenceLook | undefined) =>
    new Set(l === undefined ? [] : [l.watcher, l.rest].flatMap((view, i) => (view === undefined ? [] : [...view.extra.map((u) => `${i}+${u}`), ...view.absent.map((u) => `${i}-${u}`)])));
  const earlier = keys(before);
  const inherited = [...keys(look)].filter((key) => earlier.has(key)).length;
  return `watcher: ${wrong(look.watcher)}; REST: ${wrong(look.rest)}${inherited > 0 ? `; ${inherited} of these discrepancies were already there at the end of the previous step` : ""}`;
}

/** The run's findings so far, cumulative. */
interface Cumulative {
  readonly lost: Set<string>;
  readonly historyDuplicates: Set<string>;
  readonly gaps: Set<string>;
  readonly receiverDuplicates: number;
  readonly refusals: number;
  readonly retries: Record<string, number>;
  readonly exits: number;
}

const EMPTY: Cumulative = { lost: new Set(), historyDuplicates: new Set(), gaps: new Set(), receiverDuplicates: 0, refusals: 0, retries: {}, exits: 0 };

/** REST goes to a gateway that runs (B is never killed). */
const restBase = (world: World) => (world.gatewayB.running ? world.gatewayB.base : world.gatewayA.base);

const allAcks = (world: World): Ack[] => world.senders.flatMap((sender) => [...sender.acks.values()]);

async function createConversation(base: string, owner: string, members: string[], name: string): Promise<string> {
  const response = await fetch(`${base}/api/conversations`, {
    method: "POST",
    headers: { authorization: `Bearer ${await token(owner)}`, "content-type": "application/json" },
    body: JSON.stringify({ type: "group", members, name }),
  });
  const body = (await response.json()) as { id?: string };
  if (response.status >= 300 || body.id === undefined) throw new Error(`create conversation: ${response.status} ${JSON.stringify(body)}`);
  return body.id;
}

async function startRoles(roles: SupervisedRoles) {
  const name = (slot: string) => `chaos-${slot}-${runSeconds}`;
  const gatewayA = await roles.slot("gateway-a", "gateway", name("gateway-a"));
  const gatewayB = await roles.slot("gateway-b", "gateway", name("gateway-b"));
  const processor = await roles.slot("processor", "processor", name("processor"));
  const projector = await roles.slot("projector", "projector", name("projector"));
  // One gateway first: it bootstraps topics and schemas, which concurrent first starts race on.
  gatewayA.start();
  await gatewayA.ready();
  for (const slot of [processor, projector, gatewayB]) slot.start();
  await Promise.all([processor, projector, gatewayB].map((slot) => slot.ready()));
  return { gatewayA, gatewayB, processor, projector };
}

async function openIdle(world: World, gateway: RoleSlot): Promise<void> {
  const user = `idle-${world.nextIdle++}-${runSeconds}`;
  await world.clients.open(user, gateway);
  world.idle.push({ user, gateway });
}

/** Builds the load: conversations, senders, receivers, the watcher and the idle users; starts sending. */
async function buildLoad(world: World): Promise<void> {
  const gateways = [world.gatewayA, world.gatewayB];
  const base = restBase(world);
  for (let i = 0; i < CONVERSATIONS; i++) {
    const owner = `sender-${i}-${runSeconds}`;
    const members = [`receiver-${i}-a-${runSeconds}`, `receiver-${i}-b-${runSeconds}`];
    const id = await createConversation(base, owner, members, `chaos ${i}`);
    world.conversations.push({ id, owner });
    const page = async (conversationId: string, afterSeq: number): Promise<Payload[]> =>
      (await historyPage(restBase(world), await token(owner), conversationId, afterSeq, 200)) as unknown as Payload[];
    for (const [index, member] of members.entries()) {
      const gateway = gateways[index]!;
      const socket = await world.clients.open(member, gateway);
      world.receivers.push(await Receiver.join(member, gateway.name, (params) => socket.channel(`chat:${id}`, params), id, page));
    }
    const socket = await world.clients.open(owner, gateways[i % 2]!);
    const channel = socket.channel(`chat:${id}`, {});
    await joinOnce(channel);
    world.senders.push(new Sender(`c${i}`, id, channel, RATE_PER_SENDER, MAX_IN_FLIGHT));
  }
  world.watcher = await watchPresence(await world.clients.open(world.watcherUser, world.gatewayB), workspace);
  for (let i = 0; i < IDLE_USERS; i++) await openIdle(world, gateways[i % 2]!);
  for (const sender of world.senders) sender.start();
  const deadline = Date.now() + 90_000;
  while (world.senders.some((sender) => sender.acks.size < 20)) {
    if (Date.now() > deadline) throw new Error(`the load did not get going: acks per sender ${world.senders.map((s) => s.acks.size).join(", ")}`);
    await sleep(200);
  }
  note(`load running: ${CONVERSATIONS} conversations × ${RATE_PER_SENDER} msg/s, ${world.receivers.length} receivers, ${IDLE_USERS} idle users, watcher on gateway-b`);
}

/**
 * During an outage, one idle user of each gateway leaves for good and a new one arrives on
 * each: presence must follow. On a killed gateway the leaver's only socket was there, so only
 * the dead-gateway sweeper can take that user offline.
 */
async function churn(world: World): Promise<void> {
  const left: string[] = [];
  for (const gateway of [world.gatewayA, world.gatewayB]) {
    const index = world.idle.findIndex((entry) => entry.gateway === gateway);
    if (index < 0) continue;
    const [leaver] = world.idle.splice(index, 1);
    world.clients.close(leaver!.user);
    left.push(leaver!.user);
  }
  await openIdle(world, world.gatewayA);
  await openIdle(world, world.gatewayB);
  note(`churn: ${left.join(", ")} left; ${world.idle.slice(-2).map((entry) => `${entry.user} (${entry.gateway.name})`).join(", ")} arriving`);
}

async function lookAtPresence(world: World): Promise<PresenceLook> {
  const rest = await onlineOverRest(restBase(world), await token(world.watcherUser));
  return comparePresence(world.clients.connectedUsers(), world.watcher?.users() ?? new Set(), rest);
}

/** Polls until the watcher and REST list exactly the connected users and every socket is open again. */
async function waitForPresence(world: World, deadline: number): Promise<{ at: number | undefined; look: PresenceLook }> {
  for (;;) {
    const look = await lookAtPresence(world);
    if (look.converged && world.clients.disconnected().length === 0) return { at: Date.now(), look };
    if (Date.now() > deadline) return { at: undefined, look };
    await sleep(250);
  }
}

/** The first acknowledgement of a push sent after `from`, and when every sender had one. */
async function waitForRecovery(world: World, from: number, deadline: number): Promise<{ first: number | undefined; all: number | undefined; stuck: string[] }> {
  for (;;) {
    const perSender = world.senders.map((sender) => {
      let first: number | undefined;
      for (const ack of sender.acks.values()) if (ack.attemptSentAt >= from && (first === undefined || ack.ackAt < first)) first = ack.ackAt;
      return first;
    });
    const got = perSender.filter((at): at is number => at !== undefined);
    const first = got.length > 0 ? Math.min(...got) : undefined;
    if (got.length === perSender.length) return { first, all: Math.max(...got), stuck: [] };
    if (Date.now() > deadline) return { first, all: undefined, stuck: world.senders.filter((_, i) => perSender[i] === undefined).map((s) => s.label) };
    await sleep(100);
  }
}

interface CheckResult {
  readonly cumulative: Cumulative;
  readonly history: Record<string, Omit<HistoryFindings, "missing" | "mismatched" | "duplicatedClientMsgIds"> & { missing: number; mismatched: number; duplicatedClientMsgIds: number; acks: number }>;
  readonly receivers: (ReceiverFindings & { user: string; gateway: string; conversationId: string; target: number; joins: number; unrecovered: number; restPages: number })[];
  readonly problems: string[];
  readonly evidence: Record<string, unknown>;
}

/** Checks every acknowledged message so far against history, and every receiver against 1..N. */
async function check(world: World): Promise<CheckResult> {
  const problems: string[] = [];
  const evidence: Record<string, unknown> = {};
  const acks = allAcks(world);
  const lost = new Set(world.previous.lost);
  const historyDuplicates = new Set(world.previous.historyDuplicates);
  const gaps = new Set(world.previous.gaps);
  const history: CheckResult["history"] = {};
  const targets = new Map<string, number>();
  await Promise.all(
    world.conversations.map(async ({ id, owner }) => {
      const mine = acks.filter((ack) => ack.conversationId === id);
      const target = mine.reduce((max, ack) => Math.max(max, ack.seq), 0);
      targets.set(id, target);
      const authorization = await token(owner);
      const deadline = Date.now() + HISTORY_BOUND_MS;
      let caughtUp = target === 0;
      while (!caughtUp && Date.now() < deadline) {
        caughtUp = (await historyPage(restBase(world), authorization, id, target - 1, 1).catch(() => [])).length > 0;
        if (!caughtUp) await sleep(250);
      }
      if (!caughtUp) problems.push(`history of ${id} did not reach acknowledged seq ${target} within ${HISTORY_BOUND_MS / 1000} s`);
      let rows: HistoryRow[] | undefined;
      for (let attempt = 1; rows === undefined && attempt <= 10; attempt++) {
        rows = await readHistory(restBase(world), authorization, id).catch(async (error: unknown) => {
          if (attempt === 10) problems.push(`history of ${id} could not be read (its ${mine.length} acknowledgements are unchecked): ${String(error)}`);
          await sleep(3_000);
          return undefined;
        });
      }
      if (rows === undefined) return;
      const found = auditHistory(rows, mine);
      for (const clientMsgId of [...found.missing, ...found.mismatched]) lost.add(clientMsgId);
      for (const clientMsgId of found.duplicatedClientMsgIds) historyDuplicates.add(`${id}/${clientMsgId}`);
      for (const seq of found.duplicatedSeqs) historyDuplicates.add(`${id}#${seq}`);
      for (const seq of found.gaps) gaps.add(`${id}#${seq}`);
      const { missing, mismatched, duplicatedClientMsgIds, ...rest } = found;
      history[id] = { ...rest, acks: mine.length, missing: missing.length, mismatched: mismatched.length, duplicatedClientMsgIds: duplicatedClientMsgIds.length };
      if (missing.length + mismatched.length + duplicatedClientMsgIds.length + found.duplicatedSeqs.length + found.gaps.length > 0) {
        evidence[id] = {
          missing: missing.slice(0, 20),
          mismatched: mismatched.slice(0, 20).map((clientMsgId) => ({ ack: mine.find((a) => a.clientMsgId === clientMsgId), rows: rows.filter((r) => r.clientMsgId === clientMsgId) })),
          duplicatedClientMsgIds: duplicatedClientMsgIds.slice(0, 20).map((clientMsgId) => rows.filter((r) => r.clientMsgId === clientMsgId)),
          duplicatedSeqs: found.duplicatedSeqs.slice(0, 20),
          gaps: found.gaps.slice(0, 20),
        };
      }
    }),
  );
  // Receivers: each must hold 1..N (N the last acknowledged seq) in order; live load keeps flowing, so a stalled feed is repaired by the next message.
  const deadline = Date.now() + RECEIVER_BOUND_MS;
  while (world.receivers.some((r) => r.lastSeq < (targets.get(r.conversationId) ?? 0)) && Date.now() < deadline) await sleep(200);
  const receivers: CheckResult["receivers"] = world.receivers.map((r) => {
    const target = targets.get(r.conversationId) ?? 0;
    const found = auditReceiver(r.seen, target);
    return { user: r.user, gateway: r.gateway, conversationId: r.conversationId, target, joins: r.joins, unrecovered: r.unrecovered, restPages: r.restPages, ...found };
  });
  for (const r of receivers) {
    if (r.missing > 0) problems.push(`${r.user} (${r.gateway}) lacks ${r.missing} of seqs 1..${r.target} after ${RECEIVER_BOUND_MS / 1000} s (last seen ${r.lastSeq})`);
    else if (!r.inOrder) problems.push(`${r.user} (${r.gateway}) saw seqs out of order or twice: first at index ${r.firstDisorder?.index}, expected ${r.firstDisorder?.expected}, got ${r.firstDisorder?.got}`);
  }
  const retries: Record<string, number> = {};
  for (const sender of world.senders) for (const [reason, n] of sender.retries) retries[reason] = (retries[reason] ?? 0) + n;
  return {
    cumulative: {
      lost,
      historyDuplicates,
      gaps,
      receiverDuplicates: receivers.reduce((sum, r) => sum + r.duplicates, 0),
      refusals: world.senders.reduce((sum, s) => sum + s.refusals.length, 0),
      retries,
      exits: world.roles.exits.length,
    },
    history,
    receivers,
    problems,
    evidence,
  };
}

/** The row of a step: what the check found beyond the previous one, and whether the step passes. */
function row(
  world: World,
  fault: string,
  result: CheckResult,
  timing: { recoveryS: number | null; allSendersRecoveryS: number | null; presenceS: number | null; presenceConverged: boolean },
  stepProblems: string[],
  details: Record<string, unknown>,
): FaultRow {
  const before = world.previous;
  const now = result.cumulative;
  const fresh = (after: Set<string>, prior: Set<string>) => [...after].filter((key) => !prior.has(key));
  const lost = fresh(now.lost, before.lost);
  const historyDuplicates = fresh(now.historyDuplicates, before.historyDuplicates);
  const gaps = fresh(now.gaps, before.gaps);
  const receiverDuplicates = Math.max(0, now.receiverDuplicates - before.receiverDuplicates);
  const refusals = world.senders.flatMap((s) => s.refusals).slice(before.refusals);
  const exits = world.roles.exits.slice(before.exits);
  const retries: Record<string, number> = {};
  for (const [reason, count] of Object.entries(now.retries)) {
    const added = count - (before.retries[reason] ?? 0);
    if (added > 0) retries[reason] = added;
  }
  const problems = [...stepProblems, ...result.problems];
  if (lost.length > 0) problems.push(`${lost.length} acknowledged messages not in history (or at another seq/id): ${lost.slice(0, 5).join(", ")}`);
  if (historyDuplicates.length > 0) problems.push(`history duplicates: ${historyDuplicates.slice(0, 5).join(", ")}`);
  if (gaps.length > 0) problems.push(`history seq gaps: ${gaps.slice(0, 5).join(", ")}`);
  if (receiverDuplicates > 0) problems.push(`${receiverDuplicates} seqs shown twice to receivers`);
  if (refusals.length > 0) problems.push(`${refusals.length} sends refused for good: ${JSON.stringify(refusals.slice(0, 3))}`);
  // A role that crashes on a dependency's outage would stay down without the harness's supervisor: that fails the step.
  for (const exit of exits.filter((e) => e.kind === "crash")) {
    problems.push(`${exit.slot} crashed (exit ${exit.exit}): ${exit.reason}; it came back only because the harness restarts crashed roles (log ${exit.logFile})`);
  }
  const receiversInOrder = result.receivers.every((r) => r.inOrder);
  const notes = [
    ...exits.filter((e) => e.kind !== "crash").map((e) => `${e.slot} ${e.kind === "deliberate" ? "shut itself down" : "failed to start"} (exit ${e.exit}): ${e.reason}; restarted by the supervisor (log ${e.logFile})`),
    `retries by reason: ${JSON.stringify(retries)}`,
  ];
  world.previous = now;
  return {
    fault,
    lost: lost.length,
    duplicates: { history: historyDuplicates.length, receivers: receiverDuplicates },
    ...timing,
    receiversInOrder,
    verdict: problems.length === 0 && receiversInOrder && timing.presenceConverged ? "survived" : "NOT SURVIVED",
    problems,
    notes,
    details: {
      ...details,
      retries,
      unexpectedExits: exits,
      refusals,
      history: result.history,
      receivers: result.receivers.map(({ user, gateway, target, seen, lastSeq, duplicates, missing, inOrder, joins, unrecovered, restPages, firstDisorder }) => ({
        user,
        gateway,
        target,
        seen,
        lastSeq,
        duplicates,
        missing,
        inOrder,
        joins,
        unrecovered,
        restPages,
        firstDisorder,
      })),
      evidence: result.evidence,
      timeline: stepNotes,
    },
  };
}

interface Fault {
  readonly name: string;
  /** Puts the fault in effect; resolves a line for the timeline. */
  stop(): Promise<string>;
  /** How long the component stays down. */
  readonly outageMs: number;
  /** Ends the fault; resolves once the component serves again. */
  start(): Promise<string>;
}

function faults(world: World, machine: MachineServices): Fault[] {
  const killRole = (name: string, slot: RoleSlot, outageMs: number): Fault => ({
    name,
    outageMs,
    stop: async () => `SIGKILL ${slot.name} pid ${slot.process?.child.pid}: exit ${await slot.kill()}`,
    start: async () => {
      slot.start();
      await slot.ready();
      return `${slot.name} restarted (pid ${slot.process?.child.pid}) and ready`;
    },
  });
  /** A machine service stopped for 3 s and started again; `stopped` and `started` are the timeline's lines. */
  const restart = (name: string, stop: () => Promise<void>, stopped: string, start: () => Promise<void>, started: string): Fault => ({
    name,
    outageMs: 3_000,
    stop: async () => {
      await stop();
      return stopped;
    },
    start: async () => {
      await start();
      return started;
    },
  });
  return [
    killRole("kill -9 gateway (1 of 2)", world.gatewayA, 2_000),
    // Longer than the gateway's 10 s command timeout: pushes in flight are answered `timeout` and
    // retried while their first commands still wait in Kafka, so the new processor sees each twice.
    killRole("kill -9 processor", world.processor, 11_000),
    killRole("kill -9 projector", world.projector, 1_000),
    restart("Kafka broker restart", () => machine.stopKafka(), "Kafka stopped (clean shutdown)", () => machine.startKafka(), "Kafka answering again"),
    restart("Redis restart (nothing kept)", () => machine.stopRedis(), "Redis shut down (nosave)", () => machine.startRedis(), "Redis answering again (empty)"),
    restart("MariaDB restart", () => machine.stopMariadb(), "MariaDB shut down cleanly", () => machine.startMariadb(), "MariaDB answering queries again"),
  ];
}

/** True when every sender had a push acknowledged within the last `ms`. */
const flowing = (world: World, ms: number) => world.senders.every((sender) => [...sender.acks.values()].some((ack) => ack.ackAt > Date.now() - ms));

/**
 * A service left broken by the previous fault would fail every fault after it for that fault's
 * reason, not their own: every role is killed and restarted (as an operator would) before going on.
 */
async function heal(world: World): Promise<string> {
  const slots = [world.gatewayA, world.processor, world.projector, world.gatewayB];
  for (const slot of slots) await slot.kill();
  world.gatewayA.start();
  await world.gatewayA.ready();
  for (const slot of slots.slice(1)) slot.start();
  await Promise.all(slots.map((slot) => slot.ready()));
  const deadline = Date.now() + RECOVERY_BOUND_MS;
  while (!flowing(world, 5_000)) {
    if (Date.now() > deadline) throw new Error(`sends did not flow again within ${RECOVERY_BOUND_MS / 1000} s of restarting every role: the run cannot go on`);
    await sleep(500);
  }
  return "sends were not flowing before this fault (the previous one left the service broken): every role was killed and restarted first";
}

async function runFault(world: World, fault: Fault): Promise<FaultRow> {
  stepNotes = [];
  note(`── ${fault.name}`);
  await sleep(PRE_FAULT_MS);
  const healed = flowing(world, PRE_FAULT_MS) ? undefined : await heal(world);
  if (healed !== undefined) {
    note(healed);
    await sleep(PRE_FAULT_MS);
  }
  const problems: string[] = [];
  const injectedAt = Date.now();
  let downAt = injectedAt;
  let restoredAt: number | undefined;
  try {
    note(await fault.stop());
    downAt = Date.now();
    await churn(world);
    await sleep(fault.outageMs);
    note(await fault.start());
    restoredAt = Date.now();
  } catch (error) {
    problems.push(`the fault could not be injected or ended: ${String(error)}`);
    note(problems.at(-1)!);
  }
  const back = restoredAt ?? Date.now();
  const recovery = await waitForRecovery(world, downAt, back + RECOVERY_BOUND_MS);
  if (recovery.first === undefined) problems.push(`no send acknowledged within ${RECOVERY_BOUND_MS / 1000} s of the fault ending`);
  else if (recovery.all === undefined) problems.push(`senders ${recovery.stuck.join(", ")} had no send acknowledged within ${RECOVERY_BOUND_MS / 1000} s of the fault ending`);
  note(`sends recovered: first ack ${recovery.first === undefined ? "never" : `${((recovery.first - downAt) / 1000).toFixed(1)} s`} after the fault, every sender ${recovery.all === undefined ? "never" : `${((recovery.all - downAt) / 1000).toFixed(1)} s`}`);
  const presence = await waitForPresence(world, back + PRESENCE_BOUND_MS);
  note(`presence ${presence.at === undefined ? `NOT converged within ${PRESENCE_BOUND_MS / 1000} s: ${presenceProblem(presence.look, world.lastPresence)}` : `converged ${((presence.at - downAt) / 1000).toFixed(1)} s after the fault`}`);
  await sleep(STEADY_AFTER_MS);
  const result = await check(world);
  // Still right at the end of the step?
  const final = await lookAtPresence(world);
  const converged = presence.at !== undefined && final.converged;
  if (presence.at !== undefined && !final.converged) problems.push(`presence diverged again by the end of the step: ${presenceProblem(final, world.lastPresence)}`);
  if (presence.at === undefined) problems.push(`presence did not converge within ${PRESENCE_BOUND_MS / 1000} s of the fault ending: ${presenceProblem(final, world.lastPresence)}`);
  world.lastPresence = final;
  const disconnected = world.clients.disconnected();
  if (disconnected.length > 0) problems.push(`sockets still not reconnected: ${JSON.stringify(disconnected)}`);
  const seconds = (at: number | undefined) => (at === undefined ? null : Math.round((at - downAt) / 100) / 10);
  const done = row(
    world,
    fault.name,
    result,
    { recoveryS: seconds(recovery.first), allSendersRecoveryS: seconds(recovery.all), presenceS: seconds(presence.at), presenceConverged: converged },
    problems,
    {
      ...(healed === undefined ? {} : { healedBefore: healed }),
      injectedAtS: (injectedAt - startedAt) / 1000,
      inEffectAfterS: (downAt - injectedAt) / 1000,
      outageS: restoredAt === undefined ? null : (restoredAt - downAt) / 1000,
      // Negative when some senders never stopped (the other gateway's, or sends not needing the faulted part).
      allSendersAfterRestoreS: recovery.all === undefined || restoredAt === undefined ? null : (recovery.all - restoredAt) / 1000,
      presenceAtEnd: final,
      presenceWhenLastPolled: presence.look,
    },
  );
  note(`${fault.name}: ${done.verdict}${done.problems.length > 0 ? ` — ${done.problems.join("; ")}` : ""}`);
  return healed === undefined ? done : { ...done, notes: [healed, ...done.notes] };
}

/** The end: no new sends, the ones in flight acknowledged, then the last check. */
async function drain(world: World): Promise<FaultRow> {
  stepNotes = [];
  note("── end of run: load stopped, last check");
  for (const sender of world.senders) sender.stop();
  await Promise.all(world.senders.map((sender) => sender.settle(DRAIN_BOUND_MS)));
  const abandoned = world.senders.flatMap((sender) => sender.abandon());
  const problems = abandoned.length > 0 ? [`${abandoned.length} sends never acknowledged within ${DRAIN_BOUND_MS / 1000} s of the load stopping: ${abandoned.slice(0, 5).join(", ")}`] : [];
  const result = await check(world);
  const presence = await waitForPresence(world, Date.now() + PRESENCE_BOUND_MS);
  if (presence.at === undefined) problems.push(`presence not converged: ${presenceProblem(presence.look, world.lastPresence)}`);
  const done = row(world, "end of run (no fault: drain and last check)", result, { recoveryS: null, allSendersRecoveryS: null, presenceS: null, presenceConverged: presence.at !== undefined }, problems, {
    abandoned,
    acknowledged: allAcks(world).length,
    skippedSlots: world.senders.reduce((sum, s) => sum + s.skipped, 0),
  });
  note(`end of run: ${done.verdict}${done.problems.length > 0 ? ` — ${done.problems.join("; ")}` : ""}`);
  return done;
}

async function main(): Promise<number> {
  const machine = new MachineServices((line) => note(line));
  const roles = new SupervisedRoles(
    {
      KAFKA_TOPIC_PREFIX: prefix,
      JWT_SECRET: secret,
      LOG_LEVEL: process.env.CHAOS_LOG_LEVEL ?? "info",
      // The harness owns the stack: a role restarted while Redis or MariaDB is down must not start its own.
      QUIKCHAT_STACK: "off",
      RATE_LIMIT_MESSAGES_PER_MIN: "1000000",
      RATE_LIMIT_EVENTS_PER_MIN: "1000000",
      RATE_LIMIT_JOINS_PER_MIN: "1000000",
      RATE_LIMIT_TOTAL_PER_MIN: "1000000",
    },
    logDir,
    (line) => note(line),
  );
  const rows: FaultRow[] = [];
  let fatal: string | undefined;
  let restored: string[] = [];
  let world: World | undefined;
  let cleaningUp: Promise<void> | undefined;
  const cleanUp = () =>
    (cleaningUp ??= (async () => {
      world?.clients.closeAll();
      await roles.stopAll();
      restored = await machine.restoreAll();
    })());
  process.on("exit", () => roles.killAllNow());
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      console.error(`[chaos] ${signal}: stopping the roles and restoring Redis, MariaDB and Kafka`);
      void cleanUp().finally(() => process.exit(130));
    });
  }
  try {
    restored = await machine.restoreAll();
    await machine.stackUp();
    await deleteRunData(staleRun(runSeconds)).catch((error: unknown) => note(`could not delete stale chaos data: ${String(error)}`));
    note(`topic prefix ${prefix}, workspace ${workspace}, role logs in ${logDir}`);
    const slots = await startRoles(roles);
    note("roles ready: gateway-a, gateway-b, processor, projector");
    world = {
      roles,
      ...slots,
      clients: new ClientSockets(token),
      conversations: [],
      senders: [],
      receivers: [],
      watcherUser: `watcher-${runSeconds}`,
      watcher: undefined,
      idle: [],
      nextIdle: 0,
      previous: EMPTY,
      lastPresence: undefined,
    };
    await buildLoad(world);
    // CHAOS_FAULTS=1,3 runs only those faults (numbered as above), for working on one.
    const only = process.env.CHAOS_FAULTS?.split(",").map(Number);
    const chosen = faults(world, machine).filter((_, index) => only === undefined || only.includes(index + 1));
    for (const fault of chosen) rows.push(await runFault(world, fault));
    rows.push(await drain(world));
  } catch (error) {
    fatal = error instanceof Error ? (error.stack ?? error.message) : String(error);
    console.error(`[chaos] run aborted: ${fatal}`);
  } finally {
    await cleanUp();
  }
  const survived = fatal === undefined && rows.length > 0 && rows.every((r) => r.verdict === "survived");
  const runtimeS = since(startedAt);
  console.log(`\n${formatTable(rows)}\n`);
  for (const r of rows) {
    for (const problem of r.problems) console.log(`  ${r.fault}: ${problem}`);
    for (const line of r.notes) console.log(`  ${r.fault} (note): ${line}`);
  }
  await writeJson(RESULTS, {
    startedAt: new Date(startedAt).toISOString(),
    runtimeS,
    survived,
    fatal,
    topology: "two gateways (gateway-a is the one killed and restarted on its port; gateway-b keeps serving and answers REST), one processor, one projector; roles are separate `quikchat start --role` processes under a supervisor that restarts a role exiting by itself",
    load: { conversations: CONVERSATIONS, ratePerSender: RATE_PER_SENDER, totalRate: CONVERSATIONS * RATE_PER_SENDER, maxInFlightPerSender: MAX_IN_FLIGHT, receiversPerConversation: 2, idleUsers: IDLE_USERS },
    timesMeasuredFrom: "the moment the fault is in effect (role killed, server stopped); recovery = first acknowledgement of a push sent after it",
    bounds: { recoveryAfterRestoreS: RECOVERY_BOUND_MS / 1000, presenceAfterRestoreS: PRESENCE_BOUND_MS / 1000, historyS: HISTORY_BOUND_MS / 1000, receiversS: RECEIVER_BOUND_MS / 1000 },
    prefix,
    workspace,
    logDir,
    restoredOnExit: restored,
    rows,
  });
  console.log(`results: ${RESULTS}; role logs: ${logDir}; runtime ${runtimeS} s; ${survived ? "every fault survived" : "NOT every fault survived"}`);
  if (survived) await deleteRunData((name) => name.startsWith(prefix)).catch((error: unknown) => console.error(`could not delete this run's data: ${String(error)}`));
  return survived ? 0 : 1;
}

process.exit(await main());

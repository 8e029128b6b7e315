/**
 * `npm run chaos`: the §11 guarantees under faults, one after the other, during a steady load.
 *
 * The service runs as separate role processes (two gateways, a processor, a projector; one
 * fresh topic prefix and JWT secret) under a supervisor that restarts a role exiting by itself.
 * The load, on the stock phoenix client: CHAOS_CONVERSATIONS conversations (4), each with a
 * sender pushing CHAOS_RATE messages/s (25) and retrying a timed-out or temporarily refused push
 * with the same clientMsgId, and two receivers (one per gateway) rejoining with `last_seq`; a
 * presence watcher and CHAOS_IDLE_USERS connected users (12), some of whom leave and arrive
 * during every fault. The faults, and how their recovery is measured: fault-catalogue.ts.
 *
 * After each fault's recovery (and some more load) every acknowledged message so far is checked
 * against history and every receiver against 1..N; at the end the load stops and a last check
 * covers the rest. Prints one row per fault, writes bench-results/chaos.json, and exits 1 if any
 * fault was not survived or the run could not run them all. Redis, MariaDB and Kafka are put
 * back on every way out. CHAOS_FAULTS=2,5 runs only those faults; `--quick` (or CHAOS_QUICK=1)
 * runs them with shorter steady phases and waits (run-pace.ts) within a bound for the whole run.
 */
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { tokenFor } from "../../test/support/tokens.js";
import { formatReport, NOTHING_COUNTED, runSurvived, stepRow, writeJson, type FaultRow, type RunTally, type StepOutcome } from "./chaos-report.js";
import { ClientSockets } from "./client-sockets.js";
import { checkDelivery, historyPage } from "./delivery-audit.js";
import { faultCatalogue, flowing, recoveryAfter, selectFaults, type Fault } from "./fault-catalogue.js";
import { MachineServices } from "./machine-services.js";
import { joinOnce, Receiver, Sender, type Payload } from "./message-load.js";
import { comparePresence, describePresence, onlineOverRest, watchPresence, type PresenceLook, type PresenceWatcher } from "./presence-check.js";
import { paceOf, type Pace } from "./run-pace.js";
import { chaosPrefix, deleteRunData, staleRun } from "./run-leftovers.js";
import { SupervisedRoles, type RoleSlot } from "./supervised-roles.js";
import { sleep } from "../../src/platform/sleep.js";

const CONVERSATIONS = Number(process.env.CHAOS_CONVERSATIONS ?? 4);
const RATE_PER_SENDER = Number(process.env.CHAOS_RATE ?? 25);
const IDLE_USERS = Number(process.env.CHAOS_IDLE_USERS ?? 12);
const MAX_IN_FLIGHT = 50;
const RESULTS = "bench-results/chaos.json";

const startedAt = Date.now();
const runSeconds = Math.floor(startedAt / 1000);
const prefix = chaosPrefix(runSeconds);
const secret = randomBytes(24).toString("hex");
const workspace = `chaos-${runSeconds}`;
const logDir = join(tmpdir(), `quikchat-chaos-${runSeconds}`);

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
  readonly pace: Pace;
  readonly machine: MachineServices;
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
  /** What the run counted up to the previous step, to charge each step with what is new. */
  previous: RunTally;
  /** Presence as the previous step left it, to tell inherited discrepancies from new ones. */
  lastPresence: PresenceLook | undefined;
}

/** REST goes to a gateway that runs (B is never killed). */
const restBase = (world: World) => (world.gatewayB.running ? world.gatewayB.base : world.gatewayA.base);

async function createConversation(base: string, owner: string, members: string[], name: string): Promise<string> {
  const response = await fetch(`${base}/api/conversations`, {
    method: "POST",
    headers: { authorization: `Bearer ${await token(owner)}`, "content-type": "application/json" },
    body: JSON.stringify({ type: "group", members, name }),
    signal: AbortSignal.timeout(30_000),
  });
  const body = (await response.json()) as { id?: string };
  if (response.status >= 300 || body.id === undefined) throw new Error(`create conversation: ${response.status} ${JSON.stringify(body)}`);
  return body.id;
}

type Slots = Pick<World, "gatewayA" | "gatewayB" | "processor" | "projector">;

async function slotsOf(roles: SupervisedRoles): Promise<Slots> {
  const name = (slot: string) => `chaos-${slot}-${runSeconds}`;
  return {
    gatewayA: await roles.slot("gateway-a", "gateway", name("gateway-a")),
    gatewayB: await roles.slot("gateway-b", "gateway", name("gateway-b")),
    processor: await roles.slot("processor", "processor", name("processor")),
    projector: await roles.slot("projector", "projector", name("projector")),
  };
}

async function startRoles({ gatewayA, gatewayB, processor, projector }: Slots): Promise<void> {
  // One gateway first: it bootstraps topics and schemas, which concurrent first starts race on.
  gatewayA.start();
  await gatewayA.ready();
  for (const slot of [processor, projector, gatewayB]) slot.start();
  await Promise.all([processor, projector, gatewayB].map((slot) => slot.ready()));
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

/** Polls {@link recoveryAfter} until every sender has recovered or `deadline` passes. */
async function waitForRecovery(world: World, from: number, deadline: number) {
  for (;;) {
    const recovery = recoveryAfter(world.senders, from);
    if (recovery.all !== undefined || Date.now() > deadline) return recovery;
    await sleep(100);
  }
}

type Measured = Pick<StepOutcome, "check" | "refusals" | "exits" | "retries" | "timeline">;

/** The delivery check, and what the run counted so far (refusals oldest first). */
async function measure(world: World): Promise<Measured> {
  const check = await checkDelivery(
    {
      conversations: world.conversations,
      acks: world.senders.flatMap((sender) => [...sender.acks.values()]),
      receivers: world.receivers,
      restBase: () => restBase(world),
      token,
    },
    world.previous.delivery,
    { historyMs: world.pace.historyBoundMs, receiversMs: world.pace.receiverBoundMs },
  );
  const retries: Record<string, number> = {};
  for (const sender of world.senders) for (const [reason, n] of sender.retries) retries[reason] = (retries[reason] ?? 0) + n;
  return {
    check,
    refusals: world.senders.flatMap((sender) => sender.refusals).sort((a, b) => a.at - b.at),
    exits: world.roles.exits,
    retries,
    timeline: stepNotes,
  };
}

/** The step's row, and the run's tally moved on; `label` names the step in the timeline. */
function charge(world: World, step: StepOutcome, label = step.fault): FaultRow {
  const { row, tally } = stepRow(world.previous, step);
  world.previous = tally;
  note(`${label}: ${row.verdict}${row.problems.length > 0 ? ` — ${row.problems.join("; ")}` : ""}`);
  return row;
}

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
  const deadline = Date.now() + world.pace.recoveryBoundMs;
  while (!flowing(world.senders, 5_000, Date.now())) {
    if (Date.now() > deadline) throw new Error(`sends did not flow again within ${world.pace.recoveryBoundMs / 1000} s of restarting every role: the run cannot go on`);
    await sleep(500);
  }
  return "sends were not flowing before this fault (the previous one left the service broken): every role was killed and restarted first";
}

async function runFault(world: World, fault: Fault): Promise<FaultRow> {
  const { pace } = world;
  stepNotes = [];
  note(`── ${fault.name}`);
  await sleep(pace.preFaultMs);
  const healed = flowing(world.senders, pace.preFaultMs, Date.now()) ? undefined : await heal(world);
  if (healed !== undefined) {
    note(healed);
    await sleep(pace.preFaultMs);
  }
  const problems: string[] = [];
  const injectedAt = Date.now();
  let downAt = injectedAt;
  let restoredAt: number | undefined;
  try {
    note(await fault.inject());
    downAt = Date.now();
    await churn(world);
    await sleep(fault.outageMs);
    note(await fault.undo());
    restoredAt = Date.now();
  } catch (error) {
    problems.push(`the fault could not be injected or ended: ${String(error)}`);
    note(problems.at(-1)!);
    // A server left down here would fail every later fault for this one's reason, and stay down until the run ends.
    for (const restored of await world.machine.restoreAll()) note(`restored after the failed fault: ${restored}`);
  }
  const back = restoredAt ?? Date.now();
  const recovery = await waitForRecovery(world, downAt, back + pace.recoveryBoundMs);
  if (recovery.first === undefined) problems.push(`no send acknowledged within ${pace.recoveryBoundMs / 1000} s of the fault ending`);
  else if (recovery.all === undefined) problems.push(`senders ${recovery.stuck.join(", ")} had no send acknowledged within ${pace.recoveryBoundMs / 1000} s of the fault ending`);
  note(`sends recovered: first ack ${recovery.first === undefined ? "never" : `${((recovery.first - downAt) / 1000).toFixed(1)} s`} after the fault, every sender ${recovery.all === undefined ? "never" : `${((recovery.all - downAt) / 1000).toFixed(1)} s`}`);
  const presence = await waitForPresence(world, back + pace.presenceBoundMs);
  note(`presence ${presence.at === undefined ? `NOT converged within ${pace.presenceBoundMs / 1000} s: ${describePresence(presence.look, world.lastPresence)}` : `converged ${((presence.at - downAt) / 1000).toFixed(1)} s after the fault`}`);
  await sleep(pace.steadyAfterMs);
  const measured = await measure(world);
  // Still right at the end of the step?
  const final = await lookAtPresence(world);
  const converged = presence.at !== undefined && final.converged;
  if (presence.at !== undefined && !final.converged) problems.push(`presence diverged again by the end of the step: ${describePresence(final, world.lastPresence)}`);
  if (presence.at === undefined) problems.push(`presence did not converge within ${pace.presenceBoundMs / 1000} s of the fault ending: ${describePresence(final, world.lastPresence)}`);
  world.lastPresence = final;
  const disconnected = world.clients.disconnected();
  if (disconnected.length > 0) problems.push(`sockets still not reconnected: ${JSON.stringify(disconnected)}`);
  const seconds = (at: number | undefined) => (at === undefined ? null : Math.round((at - downAt) / 100) / 10);
  const row = charge(world, {
    ...measured,
    fault: fault.name,
    timing: { recoveryS: seconds(recovery.first), allSendersRecoveryS: seconds(recovery.all), presenceS: seconds(presence.at), presenceConverged: converged },
    problems,
    details: {
      ...(healed === undefined ? {} : { healedBefore: healed }),
      injectedAtS: (injectedAt - startedAt) / 1000,
      inEffectAfterS: (downAt - injectedAt) / 1000,
      outageS: restoredAt === undefined ? null : (restoredAt - downAt) / 1000,
      // Negative when some senders never stopped (the other gateway's, or sends not needing the faulted part).
      allSendersAfterRestoreS: recovery.all === undefined || restoredAt === undefined ? null : (recovery.all - restoredAt) / 1000,
      presenceAtEnd: final,
      presenceWhenLastPolled: presence.look,
    },
  });
  return healed === undefined ? row : { ...row, notes: [healed, ...row.notes] };
}

/** The end: no new sends, the ones in flight acknowledged, then the last check. */
async function drain(world: World): Promise<FaultRow> {
  const { pace } = world;
  stepNotes = [];
  note("── end of run: load stopped, last check");
  for (const sender of world.senders) sender.stop();
  await Promise.all(world.senders.map((sender) => sender.settle(pace.drainBoundMs)));
  const abandoned = world.senders.flatMap((sender) => sender.abandon());
  const problems = abandoned.length > 0 ? [`${abandoned.length} sends never acknowledged within ${pace.drainBoundMs / 1000} s of the load stopping: ${abandoned.slice(0, 5).join(", ")}`] : [];
  const measured = await measure(world);
  const presence = await waitForPresence(world, Date.now() + pace.presenceBoundMs);
  if (presence.at === undefined) problems.push(`presence not converged: ${describePresence(presence.look, world.lastPresence)}`);
  return charge(
    world,
    {
      ...measured,
      fault: "end of run (no fault: drain and last check)",
      timing: { recoveryS: null, allSendersRecoveryS: null, presenceS: null, presenceConverged: presence.at !== undefined },
      problems,
      details: {
        abandoned,
        acknowledged: world.senders.reduce((sum, s) => sum + s.acks.size, 0),
        skippedSlots: world.senders.reduce((sum, s) => sum + s.skipped, 0),
      },
    },
    "end of run",
  );
}

/** Throws, naming each, when a fault cannot be injected on this machine: a run does not skip one. */
async function preflight(faults: readonly Fault[]): Promise<void> {
  const unfit = (await Promise.all(faults.map(async (fault) => ({ fault, why: await fault.preflight() })))).filter(({ why }) => why !== undefined);
  if (unfit.length > 0) throw new Error(`cannot run ${unfit.map(({ fault, why }) => `"${fault.name}": ${why}`).join("; ")}`);
}

/** The load, every fault in turn, then the drain; rows go into `rows` as they are made. */
async function runFaults(world: World, faults: readonly Fault[], rows: FaultRow[]): Promise<void> {
  await buildLoad(world);
  for (const fault of faults) rows.push(await runFault(world, fault));
  rows.push(await drain(world));
}

/** Rejects once the quick run's bound has passed; never for the full run. */
function runBound(pace: Pace): Promise<never> {
  return new Promise((_, reject) => {
    if (pace.runBoundMs !== undefined) setTimeout(() => reject(new Error(`the ${pace.mode} run did not finish within ${pace.runBoundMs! / 1000} s: stopped`)), pace.runBoundMs);
  });
}

async function main(): Promise<number> {
  const rows: FaultRow[] = [];
  let fatal: string | undefined;
  let restored: string[] = [];
  let pace: Pace | undefined;
  let machine: MachineServices | undefined;
  let world: World | undefined;
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
  let cleaningUp: Promise<void> | undefined;
  const cleanUp = () =>
    (cleaningUp ??= (async () => {
      world?.clients.closeAll();
      await roles.stopAll();
      restored = (await machine?.leave()) ?? [];
    })());
  process.on("exit", () => roles.killAllNow());
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      console.error(`[chaos] ${signal}: stopping the roles and restoring Redis, MariaDB and Kafka`);
      void cleanUp().finally(() => process.exit(130));
    });
  }
  try {
    const chosenPace = (pace = paceOf(process.argv.slice(2), process.env));
    const run = (async () => {
      const services = (machine = new MachineServices((line) => note(line)));
      note(`${chosenPace.mode} run`);
      restored = await services.restoreAll();
      await services.stackUp();
      await deleteRunData(staleRun(runSeconds)).catch((error: unknown) => note(`could not delete stale chaos data: ${String(error)}`));
      const slots = await slotsOf(roles);
      const faults = selectFaults(faultCatalogue({ ...slots, machine: services }), process.env.CHAOS_FAULTS);
      await preflight(faults);
      note(`topic prefix ${prefix}, workspace ${workspace}, role logs in ${logDir}`);
      await startRoles(slots);
      note("roles ready: gateway-a, gateway-b, processor, projector");
      world = {
        pace: chosenPace,
        machine: services,
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
        previous: NOTHING_COUNTED,
        lastPresence: undefined,
      };
      await runFaults(world, faults, rows);
    })();
    // Past the bound the run is left behind (stops refused, roles no longer started) and the way out begins.
    run.catch(() => undefined);
    await Promise.race([run, runBound(chosenPace)]);
  } catch (error) {
    fatal = error instanceof Error ? (error.stack ?? error.message) : String(error);
    console.error(`[chaos] run aborted: ${fatal}`);
  }
  // Taken before the way out: a step left behind by the run's bound may still finish one, against stopped roles.
  const reported = [...rows];
  await cleanUp();
  const survived = runSurvived(reported, fatal);
  const runtimeS = since(startedAt);
  console.log(formatReport(reported));
  await writeJson(RESULTS, {
    startedAt: new Date(startedAt).toISOString(),
    mode: pace?.mode ?? null,
    runtimeS,
    survived,
    fatal,
    topology: "two gateways (gateway-a is the one killed and restarted on its port; gateway-b keeps serving and answers REST), one processor, one projector; roles are separate `quikchat start --role` processes under a supervisor that restarts a role exiting by itself",
    load: { conversations: CONVERSATIONS, ratePerSender: RATE_PER_SENDER, totalRate: CONVERSATIONS * RATE_PER_SENDER, maxInFlightPerSender: MAX_IN_FLIGHT, receiversPerConversation: 2, idleUsers: IDLE_USERS },
    timesMeasuredFrom: "the moment the fault is in effect (role killed, server stopped); recovery = first acknowledgement of a push sent after it",
    bounds: pace === undefined ? null : { recoveryAfterRestoreS: pace.recoveryBoundMs / 1000, presenceAfterRestoreS: pace.presenceBoundMs / 1000, historyS: pace.historyBoundMs / 1000, receiversS: pace.receiverBoundMs / 1000 },
    prefix,
    workspace,
    logDir,
    restoredOnExit: restored,
    rows: reported,
  });
  console.log(`results: ${RESULTS}; role logs: ${logDir}; runtime ${runtimeS} s; ${survived ? "every fault survived" : "NOT every fault survived"}`);
  if (survived) await deleteRunData((name) => name.startsWith(prefix)).catch((error: unknown) => console.error(`could not delete this run's data: ${String(error)}`));
  console.log(`[chaos] ${pace?.mode ?? "chaos"} run: ${survived ? "passed" : "FAILED"}, total time ${since(startedAt)} s`);
  return survived ? 0 : 1;
}

process.exit(await main());

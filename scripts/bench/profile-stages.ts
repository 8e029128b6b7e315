/**
 * Where a service process's JavaScript main thread spent its time, by stage of a message: each
 * sample of a V8 `.cpuprofile` (what `node --cpu-prof` writes) goes to the role whose code is
 * the outermost on its call stack and to the step that the innermost recognized frame belongs
 * to, so that time spent inside a library (a socket write in `ws`, a Redis command) counts for
 * the service code that asked for it.
 */

/** The parts of a V8 CPU profile (Chrome DevTools `Profile`) read here; times in microseconds. */
export interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  /** The node id of each sample's innermost frame. */
  readonly samples: readonly number[];
  /** Microseconds from the previous sample (from `startTime` for the first). */
  readonly timeDeltas: readonly number[];
}

export interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string };
  readonly children?: readonly number[];
}

export type Role = "gateway" | "processor" | "projector";
export const ROLES: readonly Role[] = ["gateway", "processor", "projector"];

/** Steps named after a library: its own work (callbacks, parsing) when the stack shows no service code. */
const LIBRARIES = ["Kafka client (kafkajs)", "Kafka client (node-rdkafka)", "Redis client", "MySQL client", "MongoDB client"];

/** What a process spends outside any role's code. */
const PROCESS = ["GC", "outside JavaScript (program)"];

/** The steps of each role, in the order a message meets them (the rows of the budget). */
export const STEPS: Readonly<Record<Role, readonly string[]>> = {
  gateway: ["decode", "validate: rate limits", "validate: membership", "validate: payload", "encode", "produce", "reply", "fan-out", "presence", "REST", ...LIBRARIES, "metrics", "logs", "other", ...PROCESS],
  processor: ["consume", "decode", "decide", "encode", "produce", "changelog", "commit", "reply", ...LIBRARIES, "metrics", "logs", "other", ...PROCESS],
  projector: ["consume", "decode", "write", "publish", ...LIBRARIES, "metrics", "logs", "other", ...PROCESS],
};

/** Where a frame's code lives: a file of the service (`platform/processor/command-step`), a package, Node.js itself, or the VM. */
export type FrameSource = { readonly kind: "service"; readonly path: string } | { readonly kind: "package"; readonly name: string } | { readonly kind: "node" } | { readonly kind: "vm" };

export interface Frame {
  readonly fn: string;
  readonly source: FrameSource;
}

/** Classifies a call frame by its script URL (compiled `dist/src/…js` and source `src/…ts` alike). */
export function frameOf(callFrame: ProfileNode["callFrame"]): Frame {
  const { functionName: fn, url } = callFrame;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (pkg !== null) return { fn, source: { kind: "package", name: pkg[1]! } };
  const service = /\/(?:dist\/)?src\/(.+)\.[cm]?[jt]s$/.exec(url);
  if (service !== null) return { fn, source: { kind: "service", path: service[1]! } };
  if (url.startsWith("node:")) return { fn, source: { kind: "node" } };
  return { fn, source: { kind: "vm" } };
}

/** Which role's code a service file is: the outermost such frame of a stack names the role. */
const ROLE_FILES: readonly (readonly [RegExp, Role])[] = [
  // Read models answer the gateway's reads (a membership check per send): not the projector.
  [/^contexts\/[^/]+\/projections\/[^/]+\/(?:[^/]+-read-model|redis-membership-cache)$/, "gateway"],
  [/^(?:platform\/processor\/|platform\/domain\/|contexts\/[^/]+\/domain\/|contexts\/[^/]+\/processor$|infra\/redis\/redis-reply-publisher$)/, "processor"],
  [/^(?:platform\/projection\/|contexts\/[^/]+\/projections\/|infra\/mysql\/projection-checkpoints$)/, "projector"],
  [/^(?:platform\/phoenix\/|platform\/gateway\/|contexts\/[^/]+\/channels\/|contexts\/[^/]+\/routes$|contexts\/presence\/presence-tracker$|infra\/kafka\/record-producer$)/, "gateway"],
];

/** A step named by the role it runs for, `otherwise` when it is another or unknown. */
export type RoleSteps = Partial<Record<Role, string>> & { readonly otherwise: string };

/** A step of one frame: by its service file (or package) and function, optionally only inside an outer frame. */
interface StepRule {
  readonly step: string | RoleSteps;
  readonly file?: RegExp;
  readonly pkg?: RegExp;
  readonly fn?: RegExp;
  /** An outer frame (service code) that must be on the stack too. */
  readonly within?: { readonly file: RegExp; readonly fn?: RegExp };
}

const SOCKET_WRITE = /^platform\/phoenix\/socket-(?:route|session)$/;
/** The session's functions that answer a client's push: what they send is the reply. */
const ANSWER = /^(?:answer|replyError|refuseFrame)$/;

/**
 * Steps of service frames, tried on each frame from the innermost outwards (the first frame
 * with a matching rule decides; within a frame, the first matching rule). Order matters only
 * between rules of one file.
 */
const SERVICE_STEPS: readonly StepRule[] = [
  // Shared code: the role decides the step's name.
  { file: /^infra\/avro\/avro-codec$/, fn: /^encode$/, step: "encode" },
  { file: /^infra\/avro\/(?:avro-codec|schema-registry-client)$/, step: "decode" },
  { file: /^infra\/kafka\/record-consumer$/, fn: /^decodeMessage$/, step: "decode" },
  { file: /^infra\/kafka\/rdkafka-calls$/, fn: /^consume$/, step: "consume" },
  { file: /(?:^infra\/metrics\/|-metrics$)/, step: "metrics" },
  { file: /^infra\/log\//, step: "logs" },

  // Processor.
  { file: /^platform\/processor\/consume-loop$/, step: "consume" },
  { file: /^platform\/processor\/command-decoder$/, step: "decode" },
  { file: /^platform\/processor\/transactional-producer$/, fn: /^produce$/, within: { file: /^platform\/processor\/batch-transaction$/, fn: /^produceSnapshots$/ }, step: "changelog" },
  { file: /^platform\/processor\/transactional-producer$/, fn: /^produce$/, step: "produce" },
  { file: /^platform\/processor\/transactional-producer$/, step: "commit" },
  { file: /^platform\/processor\/batch-transaction$/, fn: /^produceSnapshots$/, step: "changelog" },
  { file: /^platform\/processor\/batch-transaction$/, fn: /^(?:handle|apply)$/, step: "decide" },
  { file: /^platform\/processor\/aggregate-snapshot$/, fn: /^(?:remember|rememberedOutcome|generations)$/, step: "decide" },
  { file: /^platform\/processor\/(?:changelog-codec|aggregate-snapshot)$/, step: "changelog" },
  { file: /^(?:platform\/processor\/(?:command-step|event-meta)|contexts\/[^/]+\/processor)$/, step: "decide" },
  // The gateway runs the domain's checks too, before it sends a command.
  { file: /^(?:platform\/domain\/.+|contexts\/[^/]+\/domain\/.+)$/, step: { gateway: "validate: payload", otherwise: "decide" } },
  { file: /^(?:platform\/processor\/reply-publisher|infra\/redis\/redis-reply-publisher)$/, step: "reply" },

  { file: /^contexts\/[^/]+\/projections\/[^/]+\/(?:[^/]+-read-model|redis-membership-cache)$/, step: "validate: membership" },

  // Projector: the runtime consumes, the stores write, the projection's after-commit step publishes.
  { file: /^platform\/projection\/projection-runtime$/, fn: /^decode$/, step: "decode" },
  { file: /^platform\/projection\/projection-runtime$/, fn: /^(?:run|handle)$/, step: "consume" },
  { file: /^contexts\/[^/]+\/projections\/[^/]+\/[^/]+-projection$/, step: "publish" },
  { file: /^contexts\/presence\/presence-diff$/, step: { gateway: "fan-out", otherwise: "publish" } },
  { file: /^(?:contexts\/[^/]+\/projections\/.+|platform\/projection\/redis-(?:checkpointed-store|projection)|infra\/mysql\/projection-checkpoints)$/, step: "write" },

  // Gateway, a frame in: decode, admit, check, turn into a command, produce; then the reply.
  { file: /^platform\/phoenix\/phoenix-serializer$/, fn: /^(?:encodeFrame|serialize|pushFrame|replyFrame|channelEndFrame)$/, step: "fan-out" },
  { file: /^platform\/phoenix\/phoenix-serializer$/, step: "decode" },
  { file: /^platform\/phoenix\/action-rate-limiter$/, step: "validate: rate limits" },
  { file: /^platform\/phoenix\/socket-session$/, fn: /^admit$/, step: "validate: rate limits" },
  { file: SOCKET_WRITE, fn: /^send$/, within: { file: /^platform\/phoenix\/socket-session$/, fn: ANSWER }, step: "reply" },
  { file: /^platform\/phoenix\/socket-session$/, fn: ANSWER, step: "reply" },
  { file: /^platform\/phoenix\/channel-replies$/, step: "reply" },
  { file: /^platform\/gateway\/command-bus$/, fn: /^onMessage$/, step: "reply" },
  { file: /^platform\/gateway\/command-bus$/, step: "produce" },
  { file: /^infra\/kafka\/record-producer$/, step: "produce" },
  { file: /^contexts\/[^/]+\/channels\/[^/]+-actions$/, step: "validate: payload" },
  { file: /^contexts\/[^/]+\/channels\/[^/]+-family$/, fn: /^handleIn$/, step: "validate: payload" },
  // Everything a delta meets from Redis to the socket: the hub, the feeds, the outlets, the writes.
  { file: /^(?:platform\/gateway\/pubsub-hub|contexts\/conversations\/channels\/.+)$/, step: "fan-out" },
  // A channel's outlet is also called push: the one that channel code calls sends to the socket.
  { file: /^platform\/phoenix\/socket-session$/, fn: /^push$/, within: { file: /^(?:contexts\/[^/]+\/channels\/|contexts\/presence\/|platform\/gateway\/pubsub-hub$)/ }, step: "fan-out" },
  { file: SOCKET_WRITE, fn: /^(?:send|outletFor)$/, step: "fan-out" },
  { file: /^platform\/phoenix\/socket-session$/, fn: /^(?:join|leave|leaveQuietly|end|settle|terminate|quiesce|drained)$/, step: "other" },
  { file: /^platform\/phoenix\/socket-session$/, step: "decode" },
  { file: /^platform\/phoenix\/socket-route$/, fn: /^(?:toBytes)?$/, step: "decode" },
  { file: /^contexts\/presence\/(?:presence-tracker|channels\/.+)$/, step: "presence" },
  { file: /^contexts\/typing\/channels\/.+$/, step: "validate: payload" },
  { file: /^(?:platform\/gateway\/(?:app|rest-support|bearer-auth|jwt-verifier|openapi)|contexts\/[^/]+\/routes)$/, step: "REST" },
  { file: /^platform\/gateway\/(?:health-routes|metrics-routes|dependency-health)$/, step: "metrics" },
];

/**
 * Steps of package frames, for stacks with no service frame that has a step (a library's own
 * callbacks: a socket read, a reply parsed, a timer): named after the library when its purpose
 * cannot be told from the stack.
 */
const PACKAGE_STEPS: readonly StepRule[] = [
  { pkg: /^kafkajs$/, step: "Kafka client (kafkajs)" },
  // The gateways' command producer is their only Kafka client that works per message.
  { pkg: /^node-rdkafka$/, step: { gateway: "produce", otherwise: "Kafka client (node-rdkafka)" } },
  { pkg: /^(?:ioredis|redis-parser|@ioredis\/.+)$/, step: "Redis client" },
  { pkg: /^(?:mysql2|sql-escaper)$/, step: "MySQL client" },
  { pkg: /^mongodb$/, step: "MongoDB client" },
  // ws parsing the frames that came in; what the gateway sends goes through service frames.
  { pkg: /^ws$/, step: { gateway: "decode", otherwise: "WebSocket (ws)" } },
  { pkg: /^(?:prom-client|tdigest|bintrees)$/, step: "metrics" },
  { pkg: /^(?:pino|sonic-boom|thread-stream)$/, step: "logs" },
  { pkg: /^(?:fastify|@fastify\/.+|find-my-way|avvio|light-my-request)$/, step: "REST" },
];

/** What a profile node (its whole call stack) amounts to. */
export type NodeKind =
  | { readonly kind: "idle" }
  | { readonly kind: "gc" }
  /** Time V8 saw in no JavaScript: native work such as a library's callbacks from libuv. */
  | { readonly kind: "program" }
  | { readonly kind: "code"; readonly role: Role | undefined; readonly step: string | RoleSteps | undefined };

/** A step's name for code that runs for `role`. */
export const stepName = (step: string | RoleSteps, role: Role | undefined): string => (typeof step === "string" ? step : ((role === undefined ? undefined : step[role]) ?? step.otherwise));

/**
 * What a stack (innermost frame first) amounts to: idle, GC, outside JavaScript, or code of the
 * role of its outermost service frame that has one (undefined: none has) at the step of the
 * innermost frame a rule knows — service frames first, package frames only when no service frame
 * matches (undefined: none does).
 */
export function classifyStack(stack: readonly Frame[]): NodeKind {
  const leaf = stack[0]?.fn;
  if (leaf === "(idle)") return { kind: "idle" };
  if (leaf === "(garbage collector)") return { kind: "gc" };
  if (leaf === "(program)" || leaf === "(root)" || stack.length === 0) return { kind: "program" };
  let role: Role | undefined;
  for (const frame of stack) {
    if (frame.source.kind !== "service") continue;
    const path = frame.source.path;
    const match = ROLE_FILES.find(([file]) => file.test(path));
    if (match !== undefined) role = match[1];
  }
  const outer = (index: number, within: NonNullable<StepRule["within"]>) =>
    stack.slice(index + 1).some((f) => f.source.kind === "service" && within.file.test(f.source.path) && (within.fn === undefined || within.fn.test(f.fn)));
  for (const [rules, kind] of [
    [SERVICE_STEPS, "service"],
    [PACKAGE_STEPS, "package"],
  ] as const) {
    for (let i = 0; i < stack.length; i += 1) {
      const { fn, source } = stack[i]!;
      if (source.kind !== kind) continue;
      const name = source.kind === "service" ? source.path : source.kind === "package" ? source.name : "";
      const rule = rules.find((r) => (r.file ?? r.pkg)!.test(name) && (r.fn === undefined || r.fn.test(fn)) && (r.within === undefined || outer(i, r.within)));
      if (rule !== undefined) return { kind: "code", role, step: rule.step };
    }
  }
  return { kind: "code", role, step: undefined };
}

/** A time range of the profile (CLOCK_MONOTONIC microseconds, as its timestamps), with the messages sent in it. */
export interface BudgetWindow {
  readonly label: string;
  readonly fromUs: number;
  readonly toUs: number;
  readonly messages: number;
}

/** One process's main-thread time in each window, by stage (`"<role>: <step>"`, or `"<roles>: GC"`…). */
export interface ProcessBudget {
  /** The process's roles (see {@link profileBudget}), e.g. "gateway" or "processor + projector". */
  readonly roles: string;
  /** Per window: microseconds of samples by stage. */
  readonly stages: readonly ReadonlyMap<string, number>[];
  /** Per window: sampled time the thread was idle, and sampled time in all. */
  readonly idleUs: readonly number[];
  readonly sampledUs: readonly number[];
  /** With `frames`: per stage, microseconds (all windows) by innermost frame and innermost service frame. */
  readonly frames?: ReadonlyMap<string, ReadonlyMap<string, number>>;
}

const frameLabel = (frame: Frame | undefined): string => {
  if (frame === undefined) return "?";
  const { fn, source } = frame;
  const where = source.kind === "service" ? source.path : source.kind === "package" ? source.name : source.kind;
  return `${fn || "(anonymous)"} ${where}`;
};

/**
 * Splits a profile's samples over `windows` (a sample counts for the window its timestamp falls
 * in; it lasts until the next sample) and attributes each to a stage. The process's roles are
 * those whose code took at least 1% of the time attributed to a role in the windows (in the
 * whole profile when none was); a stack without a role frame (a library callback) counts for
 * the process's role when it has one, else for "<roles>: <step>". GC and time outside
 * JavaScript stay rows of their own per process.
 */
export function profileBudget(profile: CpuProfile, windows: readonly BudgetWindow[], options: { frames?: boolean } = {}): ProcessBudget {
  const parent = new Map<number, number>();
  const byId = new Map<number, ProfileNode>();
  for (const node of profile.nodes) {
    byId.set(node.id, node);
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  const stackOf = (id: number): Frame[] => {
    const stack: Frame[] = [];
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const node = byId.get(at);
      if (node !== undefined) stack.push(frameOf(node.callFrame));
    }
    return stack;
  };

  // Per window, time by innermost node: everything else follows from the node's stack.
  const byNode = windows.map(() => new Map<number, number>());
  const wholeByNode = new Map<number, number>();
  const sampledUs = windows.map(() => 0);
  let at = profile.startTime;
  for (let i = 0; i < profile.samples.length; i += 1) {
    at += profile.timeDeltas[i] ?? 0;
    const lasts = profile.timeDeltas[i + 1] ?? Math.max(0, profile.endTime - at);
    const id = profile.samples[i]!;
    wholeByNode.set(id, (wholeByNode.get(id) ?? 0) + lasts);
    const w = windows.findIndex((window) => at >= window.fromUs && at < window.toUs);
    if (w < 0) continue;
    byNode[w]!.set(id, (byNode[w]!.get(id) ?? 0) + lasts);
    sampledUs[w]! += lasts;
  }
  const kinds = new Map<number, NodeKind>();
  const kindOf = (id: number): NodeKind => {
    let kind = kinds.get(id);
    if (kind === undefined) kinds.set(id, (kind = classifyStack(stackOf(id))));
    return kind;
  };

  // The roles seen in the windows; a process that ran no role's code in them has those of its whole profile.
  const rolesIn = (nodes: Iterable<[number, number]>) => {
    const byRole = new Map<Role, number>();
    for (const [id, us] of nodes) {
      const kind = kindOf(id);
      if (kind.kind === "code" && kind.role !== undefined) byRole.set(kind.role, (byRole.get(kind.role) ?? 0) + us);
    }
    const attributed = [...byRole.values()].reduce((sum, us) => sum + us, 0);
    return attributed === 0 ? [] : ROLES.filter((role) => (byRole.get(role) ?? 0) >= 0.01 * attributed);
  };
  let present = rolesIn(byNode.flatMap((nodes) => [...nodes]));
  if (present.length === 0) present = rolesIn(wholeByNode);
  const only = present.length === 1 ? present[0] : undefined;
  const roles = present.length > 0 ? present.join(" + ") : "unknown roles";
  const stageOf = (kind: NodeKind): string | undefined => {
    switch (kind.kind) {
      case "idle":
        return undefined;
      case "gc":
        return `${roles}: GC`;
      case "program":
        return `${roles}: outside JavaScript (program)`;
      case "code": {
        const role = kind.role ?? only;
        return `${role ?? roles}: ${kind.step === undefined ? "other" : stepName(kind.step, role)}`;
      }
    }
  };

  const idleUs = windows.map(() => 0);
  const frames = new Map<string, Map<string, number>>();
  const stages = byNode.map((nodes, w) => {
    const stages = new Map<string, number>();
    for (const [id, us] of nodes) {
      const stage = stageOf(kindOf(id));
      if (stage === undefined) {
        idleUs[w]! += us;
        continue;
      }
      stages.set(stage, (stages.get(stage) ?? 0) + us);
      if (options.frames) {
        const stack = stackOf(id);
        const label = `${frameLabel(stack[0])} < ${frameLabel(stack.find((f) => f.source.kind === "service"))}`;
        let byLabel = frames.get(stage);
        if (byLabel === undefined) frames.set(stage, (byLabel = new Map<string, number>()));
        byLabel.set(label, (byLabel.get(label) ?? 0) + us);
      }
    }
    return stages;
  });
  return { roles, stages, idleUs, sampledUs, ...(options.frames ? { frames } : {}) };
}

/** The order of the budget's rows: each role's steps as {@link STEPS} lists them, then anything else by name. */
export function stageOrder(a: string, b: string): number {
  const rank = (stage: string) => {
    const at = stage.indexOf(": ");
    const [role, step] = [stage.slice(0, at), stage.slice(at + 2)];
    const r = ROLES.indexOf(role as Role);
    if (r < 0) return [ROLES.length, 0] as const;
    const s = STEPS[role as Role].indexOf(step);
    return [r, s < 0 ? STEPS[role as Role].length : s] as const;
  };
  const [ra, sa] = rank(a);
  const [rb, sb] = rank(b);
  return ra - rb || sa - sb || a.localeCompare(b);
}

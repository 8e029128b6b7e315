/**
 * A client process (forked by the benchmark, see ./client-pool.ts): holds WebSocket connections
 * that speak either the Phoenix Channels protocol (v2 JSON arrays, the frames the stock phoenix
 * client sends, written directly on `ws` so that one process can hold thousands) or Socket.IO 4
 * (the stock `socket.io-client`); joins topics (rooms); sends `message:send` pushes on a
 * schedule; and records every `message:new` delivery of the current run once per connection.
 *
 * A message's `clientMsgId` is `<run tag>:<process>.<connection>:<n>:<epoch ms when sent>`: a receiver in
 * any process reads the send time from it (processes on one machine share the clock), and
 * deliveries of another run are ignored.
 */
import { io } from "socket.io-client";
import { WebSocket } from "ws";
import { token } from "../bench-support.js";
import { serveWorker } from "./processes.js";
import { epochMs, mapLimit, Samples } from "./stats.js";
import { sleep } from "../../src/platform/sleep.js";

export type Protocol = "phoenix" | "socketio";

/** One connection to open: its user (the token's subject) and the topics (rooms) it joins. */
export interface SocketPlan {
  /** Phoenix: `ws://host:port/socket/websocket`; Socket.IO: `http://host:port`. */
  readonly url: string;
  readonly user: string;
  readonly topics: readonly string[];
  readonly workspace?: string;
}

interface MessagePayload {
  readonly content: string;
  readonly clientMsgId: string;
}

/** Called with an error reason when the push was refused or could not be sent. */
type Done = (error?: string) => void;

interface Connection {
  open: boolean;
  join(topic: string): Promise<void>;
  push(topic: string, payload: MessagePayload, done: Done): void;
  heartbeat(): void;
  close(): Promise<void>;
}

type Frame = [string | null, string | null, string, string, { status?: string; response?: { reason?: string } }];

const CLIENT_MSG_ID = '"clientMsgId":"';

/** The clientMsgId of a `message:new` push frame, found without parsing the whole frame. */
function clientMsgIdOf(frame: string): string | undefined {
  const at = frame.indexOf(CLIENT_MSG_ID);
  if (at < 0) return undefined;
  const start = at + CLIENT_MSG_ID.length;
  return frame.slice(start, frame.indexOf('"', start));
}

function closed(ws: WebSocket): Promise<void> {
  return new Promise((resolve) => {
    if (ws.readyState === WebSocket.CLOSED) return resolve();
    const timer = setTimeout(() => {
      ws.terminate();
      resolve();
    }, 5_000);
    ws.once("close", () => {
      clearTimeout(timer);
      resolve();
    });
    ws.close();
  });
}

/** A Phoenix Channels v2 connection at `url` (query string included). */
function phoenixConnection(url: string, onDelivery: (id: string | undefined) => void): Promise<Connection> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: 60_000 });
    let ref = 0;
    const replies = new Map<string, (status: string | undefined, reason: string | undefined) => void>();
    const joinRefs = new Map<string, string>();
    const send = (joinRef: string | null, event: string, topic: string, payload: object, reply?: (status: string | undefined, reason: string | undefined) => void) => {
      const r = String((ref += 1));
      if (reply) replies.set(r, reply);
      ws.send(JSON.stringify([joinRef, r, topic, event, payload]));
      return r;
    };
    const connection: Connection = {
      open: false,
      join: (topic) =>
        new Promise((joined, refused) => {
          const joinRef = String(ref + 1);
          joinRefs.set(topic, joinRef);
          send(joinRef, "phx_join", topic, {}, (status, reason) => (status === "ok" ? joined() : refused(new Error(`join ${reason ?? status}`))));
        }),
      push: (topic, payload, done) => {
        if (!connection.open) return done("closed");
        send(joinRefs.get(topic) ?? null, "message:send", topic, payload, (status, reason) => done(status === "ok" ? undefined : (reason ?? status ?? "error")));
      },
      heartbeat: () => {
        if (connection.open) send(null, "heartbeat", "phoenix", {});
      },
      close: () => closed(ws),
    };
    ws.on("message", (data: Buffer) => {
      const text = data.toString();
      if (text.startsWith("[null,null,")) {
        if (text.includes('","message:new",')) onDelivery(clientMsgIdOf(text));
        return;
      }
      const [, r, , event, payload] = JSON.parse(text) as Frame;
      if (event !== "phx_reply" || r === null) return;
      const reply = replies.get(r);
      replies.delete(r);
      reply?.(payload.status, payload.response?.reason);
    });
    ws.once("open", () => {
      connection.open = true;
      resolve(connection);
    });
    ws.on("error", (error) => reject(error)); // on, not once: a second error must not crash the process
    ws.once("close", (code) => {
      if (connection.open) closedBy(`close ${code}`);
      connection.open = false;
      for (const reply of replies.values()) reply(undefined, "closed");
      replies.clear();
    });
  });
}

/** A Socket.IO connection to the server at `url` (`join` and `message:send` events with acknowledgements). */
function socketIoConnection(url: string, jwt: string, onDelivery: (id: string | undefined) => void): Promise<Connection> {
  return new Promise((resolve, reject) => {
    const socket = io(url, { transports: ["websocket"], reconnection: false, forceNew: true, timeout: 60_000, auth: { token: jwt } });
    const connection: Connection = {
      open: false,
      join: (topic) =>
        new Promise((joined, refused) => {
          socket.emit("join", topic, (reply: { status: string }) => (reply.status === "ok" ? joined() : refused(new Error(`join ${reply.status}`))));
        }),
      push: (topic, payload, done) => {
        if (!connection.open) return done("closed");
        socket.emit("message:send", { topic, ...payload }, (reply: { status: string }) => done(reply.status === "ok" ? undefined : reply.status));
      },
      heartbeat: () => undefined, // engine.io pings by itself
      close: () =>
        new Promise((resolve) => {
          socket.disconnect();
          resolve();
        }),
    };
    socket.on("message:new", (message: { clientMsgId?: string }) => onDelivery(message.clientMsgId));
    socket.once("connect", () => {
      connection.open = true;
      resolve(connection);
    });
    socket.once("connect_error", (error) => reject(error));
    socket.on("disconnect", (reason) => {
      if (connection.open) closedBy(reason);
      connection.open = false;
    });
  });
}

// --- this process's connections and the current run ----------------------------------------

const connections: Connection[] = [];
/** Connections that closed while this process still wanted them, by close code or reason. */
const closes: Record<string, number> = {};
let closing = false;
const closedBy = (reason: string) => {
  if (!closing) closes[reason] = (closes[reason] ?? 0) + 1;
};
/** Tells this process's senders from another's: clientMsgIds are unique across client processes. */
const self = process.pid.toString(36);
let heartbeats: NodeJS.Timeout | undefined;

let runPrefix = "\u0000"; // matches no clientMsgId until a run starts
let seen = new Map<number, Set<string>>();
let latencies = new Samples();
let received = 0;
let duplicates = 0;
let firstAt = NaN;
let lastAt = NaN;

function delivered(connection: number, id: string | undefined): void {
  if (id === undefined || !id.startsWith(runPrefix)) return;
  const now = epochMs();
  let ids = seen.get(connection);
  if (ids === undefined) seen.set(connection, (ids = new Set()));
  if (ids.has(id)) {
    duplicates += 1;
    return;
  }
  ids.add(id);
  received += 1;
  latencies.push(now - Number(id.slice(id.lastIndexOf(":") + 1)));
  if (received === 1) firstAt = now;
  lastAt = now;
}

export interface ConnectArgs {
  readonly protocol: Protocol;
  readonly sockets: readonly SocketPlan[];
  readonly concurrency: number;
  /** Only open the connections now; `joinDeferred` joins their topics later. */
  readonly deferJoins?: boolean;
}

export interface ConnectResult {
  /** Index (in this worker) of the first connection of this call; failed ones keep their index, closed. */
  readonly first: number;
  readonly joined: number;
  readonly failed: number;
  /** Failure reasons and how often each occurred. */
  readonly errors: Record<string, number>;
  readonly seconds: number;
}

const closedConnection: Connection = { open: false, join: () => Promise.reject(new Error("closed")), push: (_t, _p, done) => done("closed"), heartbeat: () => undefined, close: () => Promise.resolve() };

/** Topics still to join, by connection (connections opened with `deferJoins`). */
const deferred = new Map<number, readonly string[]>();

const reasonOf = (error: unknown) => (error instanceof Error ? error.message : String(error)).slice(0, 80);

async function joinTopics(connection: Connection, topics: readonly string[]): Promise<void> {
  try {
    await Promise.all(topics.map((topic) => connection.join(topic)));
  } catch (error) {
    await connection.close();
    throw error;
  }
}

async function connect({ protocol, sockets, concurrency, deferJoins = false }: ConnectArgs): Promise<ConnectResult> {
  const started = epochMs();
  const first = connections.length;
  const errors: Record<string, number> = {};
  let joined = 0;
  // Phoenix clients heartbeat every 30 s (the gateway closes sockets silent for WS_IDLE_TIMEOUT_MS),
  // from the moment they are open: a thirtieth of the connections each second.
  let tick = 0;
  heartbeats ??= setInterval(() => {
    tick += 1;
    for (let i = tick % 30; i < connections.length; i += 30) connections[i]!.heartbeat();
  }, 1_000);
  connections.push(...sockets.map(() => closedConnection));
  await mapLimit(sockets, concurrency, async (plan, i) => {
    const index = first + i;
    const onDelivery = (id: string | undefined) => delivered(index, id);
    try {
      const jwt = await token(plan.user, plan.workspace);
      const connection =
        protocol === "phoenix"
          ? await phoenixConnection(`${plan.url}?vsn=2.0.0&token=${jwt}&device_id=${plan.user}`, onDelivery)
          : await socketIoConnection(plan.url, jwt, onDelivery);
      connections[index] = connection;
      if (deferJoins) deferred.set(index, plan.topics);
      else await joinTopics(connection, plan.topics);
      joined += 1;
    } catch (error) {
      const reason = reasonOf(error);
      errors[reason] = (errors[reason] ?? 0) + 1;
    }
  });
  return { first, joined, failed: sockets.length - joined, errors, seconds: (epochMs() - started) / 1000 };
}

/** Joins the topics of the connections opened with `deferJoins`. */
async function joinDeferred({ concurrency }: { concurrency: number }): Promise<Omit<ConnectResult, "first">> {
  const started = epochMs();
  const errors: Record<string, number> = {};
  let joined = 0;
  const pending = [...deferred];
  deferred.clear();
  await mapLimit(pending, concurrency, async ([index, topics]) => {
    try {
      await joinTopics(connections[index]!, topics);
      joined += 1;
    } catch (error) {
      const reason = reasonOf(error);
      errors[reason] = (errors[reason] ?? 0) + 1;
    }
  });
  return { joined, failed: pending.length - joined, errors, seconds: (epochMs() - started) / 1000 };
}

export interface SendArgs {
  /** Run tag: the prefix of every clientMsgId sent, and what receivers count (see `reset`). */
  readonly tag: string;
  /** Sending connections (indexes in this worker) and the topic each sends to; used in turn. */
  readonly senders: readonly { readonly connection: number; readonly topic: string }[];
  readonly count: number;
  /** Messages per second from this worker, evenly spaced; Infinity sends them all at once. */
  readonly rate: number;
  readonly contentBytes: number;
  /** How long after the last send replies are still waited for; those still missing count as `timeout`. */
  readonly replyTimeoutMs: number;
}

export interface SendResult {
  readonly sent: number;
  readonly acked: number;
  readonly failed: number;
  readonly errors: Record<string, number>;
  readonly replyMs: Float64Array;
  /** Messages sent to each topic. */
  readonly byTopic: Record<string, number>;
  readonly firstSentAt: number;
  readonly seconds: number;
}

const LOREM = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. ";

async function send(args: SendArgs): Promise<SendResult> {
  const content = LOREM.repeat(Math.ceil(args.contentBytes / LOREM.length)).slice(0, args.contentBytes);
  const replyMs = new Samples();
  const errors: Record<string, number> = {};
  const byTopic: Record<string, number> = {};
  let acked = 0;
  let failed = 0;
  let outstanding = 0;
  let waiting = true;
  let sent = 0;
  const started = epochMs();
  while (sent < args.count) {
    const due = Number.isFinite(args.rate) ? Math.min(args.count, Math.floor(((epochMs() - started) * args.rate) / 1000) + 1) : args.count;
    for (; sent < due; sent += 1) {
      const { connection, topic } = args.senders[sent % args.senders.length]!;
      const at = epochMs();
      outstanding += 1;
      byTopic[topic] = (byTopic[topic] ?? 0) + 1;
      connections[connection]!.push(topic, { content, clientMsgId: `${args.tag}:${self}.${connection}:${sent}:${at.toFixed(3)}` }, (error) => {
        if (!waiting) return;
        outstanding -= 1;
        if (error === undefined) {
          acked += 1;
          replyMs.push(epochMs() - at);
        } else {
          failed += 1;
          errors[error] = (errors[error] ?? 0) + 1;
        }
      });
    }
    if (sent < args.count) await sleep(1);
  }
  const seconds = (epochMs() - started) / 1000;
  for (const deadline = epochMs() + args.replyTimeoutMs; outstanding > 0 && epochMs() < deadline; ) await sleep(10);
  waiting = false;
  if (outstanding > 0) {
    failed += outstanding;
    errors.timeout = (errors.timeout ?? 0) + outstanding;
  }
  return { sent, acked, failed, errors, replyMs: replyMs.values(), byTopic, firstSentAt: started, seconds };
}

export interface Deliveries {
  /** Distinct (connection, message) deliveries of the run. */
  readonly received: number;
  /** Connections closed by the other side (or lost), by close code or reason. */
  readonly closes: Record<string, number>;
  /** Deliveries of a message a connection had already received. */
  readonly duplicates: number;
  readonly open: number;
  readonly firstAt: number;
  readonly lastAt: number;
}

const deliveries = (): Deliveries => ({ received, duplicates, open: connections.filter((c) => c.open).length, closes, firstAt, lastAt });

const api = {
  connect,
  joinDeferred,
  send,
  /** Starts counting the deliveries of run `tag` (and forgets the previous run's). */
  reset: (tag: string) => {
    runPrefix = `${tag}:`;
    seen = new Map();
    latencies = new Samples();
    received = 0;
    duplicates = 0;
    firstAt = NaN;
    lastAt = NaN;
  },
  stats: (_: null) => deliveries(),
  /** The run's deliveries with each one's send→receive latency (ms). */
  collect: (_: null) => ({ ...deliveries(), latencies: latencies.values() }),
  closeAll: async (_: null) => {
    closing = true;
    clearInterval(heartbeats);
    heartbeats = undefined;
    await Promise.all(connections.splice(0).map((connection) => connection.close()));
  },
};

export type ClientWorkerApi = typeof api;

serveWorker(api);

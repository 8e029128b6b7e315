/**
 * Baseline (a): a bare `ws` broadcast server, forked by the benchmark. It answers the frames the
 * benchmark's clients send in the Phoenix v2 format — `phx_join` adds the socket to the topic's
 * room, `heartbeat` is answered, `message:send` is answered `ok {id, seq, sentAt}` and the
 * message is broadcast to every socket of the room, sender included, as one serialized frame —
 * with no authentication, persistence, queue or cross-process delivery: the floor of the work.
 */
import { WebSocketServer, type WebSocket } from "ws";
import { serveWorker } from "./processes.js";

type Frame = [string | null, string, string, string, { content?: string; clientMsgId?: string }];

const rooms = new Map<string, Set<WebSocket>>();
let seq = 0;
let connections = 0;

function handle(ws: WebSocket, user: string, data: Buffer): void {
  const [joinRef, ref, topic, event, payload] = JSON.parse(data.toString()) as Frame;
  const reply = (response: object) => ws.send(JSON.stringify([joinRef, ref, topic, "phx_reply", { status: "ok", response }]));
  switch (event) {
    case "phx_join": {
      let room = rooms.get(topic);
      if (room === undefined) rooms.set(topic, (room = new Set()));
      room.add(ws);
      return reply({});
    }
    case "heartbeat":
      return reply({});
    case "message:send": {
      seq += 1;
      const sentAt = Date.now();
      const message = { id: `m-${seq}`, conversationId: topic, seq, senderId: user, type: "text", content: payload.content, clientMsgId: payload.clientMsgId, sentAt };
      reply({ id: message.id, seq, sentAt });
      // Serialized and encoded once for the whole room, as a broadcast server would.
      const frame = Buffer.from(JSON.stringify([null, null, topic, "message:new", message]));
      for (const member of rooms.get(topic) ?? []) member.send(frame, { binary: false });
      return;
    }
    default:
      return reply({});
  }
}

const api = {
  listen: ({ port }: { port: number }) =>
    new Promise<void>((resolve, reject) => {
      const server = new WebSocketServer({ host: "127.0.0.1", port, perMessageDeflate: false, backlog: 4096 });
      server.once("listening", () => resolve());
      server.once("error", reject);
      server.on("connection", (ws, request) => {
        connections += 1;
        const user = new URL(request.url ?? "/", "http://x").searchParams.get("device_id") ?? "anonymous";
        ws.on("message", (data: Buffer) => handle(ws, user, data));
        ws.once("close", () => {
          connections -= 1;
          for (const room of rooms.values()) room.delete(ws);
        });
      });
    }),
  stats: (_: null) => ({ connections, rooms: rooms.size }),
};

export type WsServerApi = typeof api;

serveWorker(api);

/**
 * Baseline (b): a Socket.IO 4 server with rooms, forked by the benchmark, doing the same work as
 * the bare `ws` server: `join` puts the socket in a room, `message:send` is acknowledged
 * `{status: "ok", id, seq}` and emitted as `message:new` to the room, sender included.
 * WebSocket transport only (the clients never poll), no authentication or persistence.
 */
import { createServer } from "node:http";
import { Server } from "socket.io";
import { serveWorker } from "./processes.js";

let seq = 0;

const api = {
  listen: ({ port }: { port: number }) =>
    new Promise<void>((resolve, reject) => {
      const http = createServer();
      // pingTimeout as the QuikChat gateways' idle timeout in the benchmark (see service.ts): client
      // processes busy with a million deliveries answer pings late, and must not be dropped as dead.
      const io = new Server(http, { transports: ["websocket"], perMessageDeflate: false, serveClient: false, pingTimeout: 300_000 });
      io.on("connection", (socket) => {
        const user = socket.id;
        socket.on("join", (room: string, ack: (reply: object) => void) => {
          void socket.join(room);
          ack({ status: "ok" });
        });
        socket.on("message:send", (payload: { topic: string; content: string; clientMsgId: string }, ack: (reply: object) => void) => {
          seq += 1;
          const sentAt = Date.now();
          const message = { id: `m-${seq}`, conversationId: payload.topic, seq, senderId: user, type: "text", content: payload.content, clientMsgId: payload.clientMsgId, sentAt };
          ack({ status: "ok", id: message.id, seq, sentAt });
          io.to(payload.topic).emit("message:new", message);
        });
      });
      http.once("error", reject);
      http.listen({ port, host: "127.0.0.1", backlog: 4096 }, () => resolve());
    }),
  stats: (_: null) => ({ seq }),
};

export type SocketIoServerApi = typeof api;

serveWorker(api);

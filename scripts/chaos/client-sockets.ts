/**
 * Every socket the chaos run holds, on the stock `phoenix` client: who it belongs to and which
 * gateway it talks to. The users with a socket actually open are the ones presence must show.
 */
import { Socket } from "phoenix";
import { WebSocket } from "ws";
import type { RoleSlot } from "./supervised-roles.js";

interface Held {
  readonly user: string;
  readonly gateway: RoleSlot;
  readonly socket: Socket;
}

export class ClientSockets {
  private readonly held = new Set<Held>();

  constructor(private readonly tokenFor: (user: string) => Promise<string>) {}

  /** Opens a socket for `user` on `gateway`; the phoenix client reconnects it by itself after any drop. */
  async open(user: string, gateway: RoleSlot): Promise<Socket> {
    const token = await this.tokenFor(user);
    const socket = new Socket(`ws://127.0.0.1:${gateway.port}/socket`, { transport: WebSocket, params: { token } });
    socket.connect();
    this.held.add({ user, gateway, socket });
    return socket;
  }

  /** Closes `user`'s sockets for good (the client will not reconnect them). */
  close(user: string): void {
    for (const entry of [...this.held]) {
      if (entry.user !== user) continue;
      entry.socket.disconnect();
      this.held.delete(entry);
    }
  }

  /** Users with at least one socket open right now. */
  connectedUsers(): Set<string> {
    return new Set([...this.held].filter(({ socket }) => socket.isConnected()).map(({ user }) => user));
  }

  /** Sockets that should be open but are not (still reconnecting). */
  disconnected(): { user: string; gateway: string }[] {
    return [...this.held].filter(({ socket }) => !socket.isConnected()).map(({ user, gateway }) => ({ user, gateway: gateway.name }));
  }

  /** Users whose sockets all live on `gateway`. */
  usersOnlyOn(gateway: RoleSlot): string[] {
    const byUser = new Map<string, Set<string>>();
    for (const { user, gateway: slot } of this.held) byUser.set(user, (byUser.get(user) ?? new Set()).add(slot.name));
    return [...byUser].filter(([, slots]) => slots.size === 1 && slots.has(gateway.name)).map(([user]) => user);
  }

  closeAll(): void {
    for (const { socket } of this.held) socket.disconnect();
    this.held.clear();
  }
}

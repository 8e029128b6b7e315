import type { DisconnectReason } from "./disconnect-reasons.js";

/** What the registry needs of an open socket. */
export interface RegisteredConnection {
  readonly userId: string;
  /** The socket's connection id (its presence connection). */
  readonly connectionId: string;
  /** The `iat` (seconds) of the socket's current token, when it has one: whether a revocation concerns it. */
  readonly tokenIssuedAt: number | undefined;
  /** Closes the socket for `reason`; resolves once it is closed (or given up on and destroyed). */
  close(reason: DisconnectReason): Promise<void>;
  /**
   * Moves the instant the socket's authentication ends to `expiresAt` (seconds since the epoch):
   * the socket closes with `tokenExpired` then, unless extended again or refreshed by its client;
   * one in the past closes it at once. What an accepted `access_token` push does, and what a
   * server-side refresh of the connection does.
   */
  extend(expiresAt: number): void;
}

/**
 * The open sockets of this process and how many each user holds. Counts are per process: a
 * user may hold `maxConnectionsPerUser` sockets on each gateway.
 */
export interface ConnectionRegistry {
  /** Open sockets. */
  readonly size: number;
  /**
   * Reserves a connection slot for `userId` before the upgrade: `limit` when the user already
   * holds the maximum, `closing` once `closeAll` ran. Every reservation is either `register`ed
   * or `release`d.
   */
  reserve(userId: string): "reserved" | "limit" | "closing";
  /** Every open socket of this process. */
  all(): readonly RegisteredConnection[];
  /** The open sockets of `userId` on this process. */
  connectionsOf(userId: string): readonly RegisteredConnection[];
  /** Returns a reserved slot whose upgrade did not happen. */
  release(userId: string): void;
  /**
   * Adds an open socket holding a reserved slot (closed at once if `closeAll` already ran);
   * returns the function that removes it (idempotent).
   */
  register(connection: RegisteredConnection): () => void;
  /**
   * Closes every socket for `reason` (graceful shutdown: `shutdown`, a code the client
   * reconnects after) and refuses new reservations. Resolves when all are closed.
   */
  closeAll(reason: DisconnectReason): Promise<void>;
}

export function createConnectionRegistry(limits: { readonly maxConnectionsPerUser: number }): ConnectionRegistry {
  const open = new Set<RegisteredConnection>();
  const perUser = new Map<string, number>();
  let closing: DisconnectReason | undefined;

  const release = (userId: string) => {
    const count = (perUser.get(userId) ?? 0) - 1;
    if (count > 0) perUser.set(userId, count);
    else perUser.delete(userId);
  };

  return {
    get size() {
      return open.size;
    },
    reserve(userId) {
      const count = perUser.get(userId) ?? 0;
      if (closing !== undefined) return "closing";
      if (count >= limits.maxConnectionsPerUser) return "limit";
      perUser.set(userId, count + 1);
      return "reserved";
    },
    all() {
      return [...open];
    },
    connectionsOf(userId) {
      return [...open].filter((connection) => connection.userId === userId);
    },
    release,
    register(connection) {
      open.add(connection);
      // An upgrade admitted just before closeAll completes after it: close it too.
      if (closing !== undefined) void connection.close(closing);
      let removed = false;
      return () => {
        if (removed) return;
        removed = true;
        open.delete(connection);
        release(connection.userId);
      };
    },
    async closeAll(reason) {
      closing = reason;
      await Promise.all([...open].map((connection) => connection.close(reason)));
    },
  };
}

import type { PresenceStatus, SetStatus } from "../../../platform/contract/generated/avro-types.js";
import type { Logger } from "../../../infra/log/logger.js";
import { userPresenceChannel, type UserPresence } from "../projections/presence/presence-model.js";
import type { ChannelReply, SocketIdentity } from "../../../platform/phoenix/channel.js";
import type { OpenChannel, OpenUserChannelPart } from "../../../platform/phoenix/identity-families.js";
import { refuse } from "../../../platform/phoenix/channel-replies.js";
import type { CommandBus } from "../../../platform/gateway/command-bus.js";
import { ServiceError } from "../../../platform/errors/error-codes.js";
import { parseMessage, type ChannelSource } from "../../../platform/gateway/pubsub-hub.js";
import type { PresenceRooms } from "./presence-rooms.js";

/** Reads one user's presence. */
export interface UserPresenceReader {
  userPresence(userId: string): Promise<UserPresence>;
}

/** Sets the caller's status from a `set_status {status, status_text}` push or REST body. */
export type StatusSetter = (identity: Pick<SocketIdentity, "userId" | "workspaceId">, payload: Record<string, unknown>) => Promise<ChannelReply>;

const STATUSES: readonly PresenceStatus[] = ["online", "away", "dnd", "offline"];
/** The push that sets the caller's status, on `presence:` and `user:` channels. */
export const SET_STATUS_EVENT = "set_status";

/**
 * `SetStatus` commands: `status` one of online, away, dnd, offline (appear offline), optional
 * `status_text` (at most 100 characters, null clears it). Answers `{status, status_text}` or
 * `{reason, message}`.
 */
export function statusSetter(bus: CommandBus): StatusSetter {
  return async (identity, payload) => {
    const status = payload.status as PresenceStatus;
    const text = payload.status_text ?? null;
    if (!STATUSES.includes(status)) return invalid(`status must be one of ${STATUSES.join(", ")}`);
    if (text !== null && (typeof text !== "string" || text.length > 100)) return invalid("status_text must be a string of at most 100 characters");
    const command: SetStatus = { meta: bus.meta(identity), userId: identity.userId, status, statusText: text };
    try {
      const outcome = await bus.send("presence", "SetStatus", identity.userId, command);
      if (outcome.ok) return { status: "ok", response: { status, status_text: text } };
      return { status: "error", response: { reason: outcome.error.code, message: outcome.error.message } };
    } catch (error) {
      if (error instanceof ServiceError) return { status: "error", response: { reason: error.code, message: error.message } };
      throw error;
    }
  };
}

const invalid = (message: string): ChannelReply => ({ status: "error", response: { reason: "invalid", message } });

/** `presence:{workspaceId}`: Phoenix Presence of the workspace (presence_state, then batched presence_diff); `set_status` pushes. */
export function workspacePresence(rooms: PresenceRooms, setStatus: StatusSetter): OpenChannel {
  return async (identity, outlet) => {
    const leave = await rooms.enter(identity.workspaceId, outlet);
    return {
      handleIn: (event, payload) => (event === SET_STATUS_EVENT ? setStatus(identity, payload) : Promise.resolve(refuse("unknown_event"))),
      leave: () => Promise.resolve(leave()),
    };
  };
}

/**
 * Presence's part of `user:{userId}`: `presence_update` with the user's own presence (status,
 * devices) after the join and after every change; `set_status` pushes.
 */
export function ownPresence(
  hub: ChannelSource,
  reader: UserPresenceReader,
  topicPrefix: string,
  logger: Logger,
  setStatus: StatusSetter,
): OpenUserChannelPart {
  return async (identity, outlet) => {
    const channel = userPresenceChannel(topicPrefix, identity.userId);
    const push = (presence: UserPresence) => outlet.push("presence_update", { ...presence });
    const stop = await hub.listen(channel, {
      onMessage: (message) => {
        const presence = parseMessage<UserPresence>(message, channel, logger);
        if (presence !== undefined) push(presence);
      },
      onResync: () => void reader.userPresence(identity.userId).then(push, (error: unknown) => logger.warn({ err: error }, "presence resync failed")),
    });
    try {
      push(await reader.userPresence(identity.userId));
    } catch (error) {
      stop();
      throw error;
    }
    return { events: { [SET_STATUS_EVENT]: (payload) => setStatus(identity, payload) }, leave: stop };
  };
}

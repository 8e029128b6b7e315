import type { PresenceStatus, SetStatus } from "../../../platform/contract/generated/avro-types.js";
import type { Logger } from "../../../infra/log/logger.js";
import { userPresenceChannel, type UserPresence } from "../projections/presence/presence-model.js";
import type { SocketIdentity } from "../../../platform/phoenix/channel.js";
import type { OpenChannel, OpenUserChannelPart } from "../../../platform/phoenix/identity-families.js";
import { refuse, replying } from "../../../platform/phoenix/channel-replies.js";
import type { CommandBus } from "../../../platform/gateway/command-bus.js";
import { ServiceError } from "../../../platform/errors/error-codes.js";
import { parseMessage, type ChannelSource } from "../../../platform/gateway/pubsub-hub.js";
import type { PresenceRooms } from "./presence-rooms.js";

/** Reads one user's presence. */
export interface UserPresenceReader {
  userPresence(userId: string): Promise<UserPresence>;
}

/**
 * Sets the caller's status from a `set_status {status, status_text}` push or REST body; resolves
 * with what was set, rejects with a ServiceError (`invalid`, or the processor's refusal).
 */
export type StatusSetter = (identity: Pick<SocketIdentity, "userId" | "workspaceId">, payload: Record<string, unknown>) => Promise<Record<string, unknown>>;

const STATUSES: readonly PresenceStatus[] = ["online", "away", "dnd", "offline"];
/** The push that sets the caller's status, on `presence:` and `user:` channels. */
export const SET_STATUS_EVENT = "set_status";

/**
 * `SetStatus` commands: `status` one of online, away, dnd, offline (appear offline), optional
 * `status_text` (at most 100 characters, null clears it). Resolves `{status, status_text}`.
 */
export function statusSetter(bus: CommandBus): StatusSetter {
  return async (identity, payload) => {
    const status = payload.status as PresenceStatus;
    const text = payload.status_text ?? null;
    if (!STATUSES.includes(status)) throw new ServiceError("invalid", `status must be one of ${STATUSES.join(", ")}`);
    if (text !== null && (typeof text !== "string" || text.length > 100)) throw new ServiceError("invalid", "status_text must be a string of at most 100 characters");
    const command: SetStatus = { meta: bus.meta(identity), userId: identity.userId, status, statusText: text };
    await bus.request("presence", "SetStatus", identity.userId, command);
    return { status, status_text: text };
  };
}

/** `presence:{workspaceId}`: Phoenix Presence of the workspace (presence_state, then batched presence_diff); `set_status` pushes. */
export function workspacePresence(rooms: PresenceRooms<string>, setStatus: StatusSetter): OpenChannel {
  return async (identity, outlet) => {
    const leave = await rooms.enter(identity.workspaceId, outlet);
    return {
      handleIn: (event, payload) => (event === SET_STATUS_EVENT ? replying(() => setStatus(identity, payload)) : Promise.resolve(refuse("unknown_event"))),
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
    return { events: { [SET_STATUS_EVENT]: (payload) => replying(() => setStatus(identity, payload)) }, leave: stop };
  };
}

import type { ChannelType } from "../../../platform/contract/generated/avro-types.js";

/** What access rules need to know of a channel and of the user asking. */
export interface AccessQuestion {
  readonly channelType: ChannelType;
  readonly ownerId: string | null;
  readonly workspaceId: string;
  /** The asking user and their workspace (from their token). */
  readonly userId: string;
  readonly userWorkspaceId: string;
  /** Whether the asking user is subscribed to the channel. */
  readonly subscribed: boolean;
}

/**
 * Who receives a channel's publications (may join `channel:{id}`), by type: USER its one user
 * (the owner); SYSTEM every user of its workspace; TEAM, PRESENCE and PRIVATE their
 * subscribers. Nobody outside the channel's workspace.
 */
export function mayReceive(question: AccessQuestion): boolean {
  if (question.userWorkspaceId !== question.workspaceId) return false;
  switch (question.channelType) {
    case "USER":
      return question.userId === question.ownerId;
    case "SYSTEM":
      return true;
    case "TEAM":
    case "PRESENCE":
    case "PRIVATE":
      return question.subscribed;
  }
}

/**
 * Whether a client (not a backend) may publish: subscribers of TEAM, PRESENCE and PRIVATE
 * channels. USER and SYSTEM channels carry what backends send; their clients only receive.
 */
export function clientMayPublish(question: AccessQuestion): boolean {
  return question.channelType !== "USER" && question.channelType !== "SYSTEM" && mayReceive(question);
}

import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import type {
  CreateHuddle,
  EndHuddle,
  InviteToHuddle,
  JoinHuddle,
  LeaveHuddle,
  RaiseHand,
  ToggleAudio,
  ToggleScreenShare,
  ToggleVideo,
} from "../../../platform/contract/generated/avro-types.js";
import { ServiceError } from "../../../platform/errors/error-codes.js";
import type { CommandBus, IssuedBy } from "../../../platform/gateway/command-bus.js";
import { until } from "../../../platform/sleep.js";
import type { MembershipCheck } from "../../conversations/channels/conversation-family.js";
import { requireWorkspaceUsers } from "../../users/workspace-users.js";
import { participantsOf, shown, type HuddleTrack, type LiveHuddleView } from "../projections/live-huddles/live-huddles-model.js";
import type { LiveHuddlesReadModel } from "../projections/live-huddles/live-huddles-read-model.js";
import type { ArrivalMedia, CreatePayload } from "./huddle-payloads.js";

/** How long a write waits for the read model to show it before answering anyway. */
const READ_MODEL_WAIT_MS = 5_000;

/** Who acts: a socket's user, or a REST request's caller. */
export type Caller = IssuedBy;

/** What the huddles' actions need. */
export interface HuddleActionsDeps {
  readonly bus: CommandBus;
  readonly huddles: LiveHuddlesReadModel;
  /** Reads the users' and presence read models (the workspace of an invitee). */
  readonly redis: Redis;
  readonly topicPrefix: string;
  /** The conversations' membership check; absent, huddles in a conversation are `not_available`. */
  readonly membership: () => MembershipCheck | undefined;
}

/**
 * One huddle as clients read it (the join reply of `huddle:{huddleId}`, `GET
 * /api/huddles/:huddle_id`): its facts, its invitees and its participants in user-id order, each
 * `{userId, audio, video, screen, handRaised, joinedAt}`.
 */
export function huddleView(huddle: LiveHuddleView): Record<string, unknown> {
  const { huddleId, conversationId, title, createdBy, status, createdAt, endReason, invited } = huddle;
  return { huddleId, conversationId, title, createdBy, status, createdAt, endReason, invited, participants: participantsOf(huddle).map(shown) };
}

/**
 * What users do with huddles over `huddle:{huddleId}`, `huddle:create` on conversation topics and
 * `/api/huddles/…`: each method answers the push's `ok` response (the REST route's body) or throws
 * a `ServiceError` (the processor's refusal, or the gateway's own checks below). The huddle
 * aggregate decides; the gateway checks what the huddle cannot know:
 *
 * - A huddle concerns the users it involves: its creator, its invitees, its participants and the
 *   members of its conversation (in its workspace). For anyone else, and for a huddle unknown or
 *   ended over an hour ago, everything is `not_found`: nobody learns that a huddle exists.
 * - Creating a huddle in a conversation, and joining one, asks the conversations' membership;
 *   invitees must be users of the caller's workspace (`not_found` otherwise).
 * - A conversation has one live huddle: creating another while one is live answers that one's id
 *   with `created: false` (two members starting one at the same instant may still make two; the
 *   conversation then shows the later).
 *
 * Create, join and invite answer once the live-huddles read model shows them (at most 5 s), so
 * that what the client does next (joining `huddle:{huddleId}`, reading the huddle) finds it.
 */
export class HuddleActions {
  constructor(private readonly deps: HuddleActionsDeps) {}

  /**
   * Starts a huddle → `{huddleId, created: true}`, with the caller in it from `connectionId`
   * (null over REST); in a conversation with a live huddle, `{huddleId, created: false}` of that one.
   */
  async create(caller: Caller, connectionId: string | null, payload: CreatePayload): Promise<Record<string, unknown>> {
    const { conversationId, inviteeIds, title, audio, video } = payload;
    if (conversationId !== null) {
      if (!(await this.isMember(caller, conversationId))) throw new ServiceError("not_a_member", "you are not a member of this conversation");
      const live = await this.deps.huddles.ofConversation(conversationId);
      if (live !== undefined && live.workspaceId === caller.workspaceId) return { huddleId: live.huddleId, created: false };
    }
    const others = inviteeIds.filter((userId) => userId !== caller.userId);
    await requireWorkspaceUsers(this.deps.redis, this.deps.topicPrefix, caller.workspaceId, others);
    const { bus } = this.deps;
    const huddleId = randomUUID();
    const command: CreateHuddle = { meta: bus.meta(caller), huddleId, conversationId, title, inviteeIds: others, connectionId, muted: !audio, videoEnabled: video };
    await bus.request("huddles", "CreateHuddle", huddleId, command);
    await this.shows(huddleId, (huddle) => Object.hasOwn(huddle.participants, caller.userId));
    return { huddleId, created: true };
  }

  /**
   * Comes into the huddle from `connectionId` (null over REST: a participant with no connection,
   * whom only a leave or the huddle's end takes out) → the huddle ({@link huddleView}) once the
   * read model shows the caller in it from there.
   */
  async join(caller: Caller, huddleId: string, connectionId: string | null, arrival: ArrivalMedia): Promise<Record<string, unknown>> {
    const { huddle, memberOfConversation } = await this.involving(caller, huddleId);
    const { bus } = this.deps;
    const command: JoinHuddle = { meta: bus.meta(caller), huddleId, muted: !arrival.audio, videoEnabled: arrival.video, connectionId, memberOfConversation };
    await bus.request("huddles", "JoinHuddle", huddleId, command);
    const shown = await this.shows(huddleId, (view) => {
      const participant = Object.hasOwn(view.participants, caller.userId) ? view.participants[caller.userId] : undefined;
      return participant !== undefined && (connectionId === null || participant.connectionId === connectionId);
    });
    return huddleView(shown ?? huddle);
  }

  /** Leaves the huddle → `{huddleId}`: from `connectionId` only while the caller is in it from there; null, whatever their connection. */
  async leave(caller: Caller, huddleId: string, connectionId: string | null): Promise<Record<string, unknown>> {
    await this.involving(caller, huddleId);
    const command: LeaveHuddle = { meta: this.deps.bus.meta(caller), huddleId, userId: null, connectionId, reason: "left" };
    await this.deps.bus.request("huddles", "LeaveHuddle", huddleId, command);
    return { huddleId };
  }

  /**
   * Invites users of the caller's workspace → `{huddleId, invited}`: those newly invited (users
   * already invited, in it, or its creator are left out). Participants only.
   */
  async invite(caller: Caller, huddleId: string, userIds: readonly string[]): Promise<Record<string, unknown>> {
    const { huddle } = await this.involving(caller, huddleId);
    const others = userIds.filter((userId) => userId !== caller.userId);
    if (others.length === 0) throw new ServiceError("invalid", "invite someone other than yourself");
    const invited = others.filter((userId) => userId !== huddle.createdBy && !huddle.invited.includes(userId) && !Object.hasOwn(huddle.participants, userId)).sort();
    await requireWorkspaceUsers(this.deps.redis, this.deps.topicPrefix, caller.workspaceId, invited);
    const command: InviteToHuddle = { meta: this.deps.bus.meta(caller), huddleId, userIds: others };
    await this.deps.bus.request("huddles", "InviteToHuddle", huddleId, command);
    await this.shows(huddleId, (view) => invited.every((userId) => view.invited.includes(userId)));
    return { huddleId, invited };
  }

  /** Ends the huddle for everybody → `{huddleId}`; its creator only (`forbidden` for the others it involves). */
  async end(caller: Caller, huddleId: string): Promise<Record<string, unknown>> {
    await this.involving(caller, huddleId);
    const command: EndHuddle = { meta: this.deps.bus.meta(caller), huddleId };
    await this.deps.bus.request("huddles", "EndHuddle", huddleId, command);
    return { huddleId };
  }

  /** Turns the caller's `track` on or off → `{huddleId}`; participants only (`not_a_participant`). */
  async toggle(caller: Caller, huddleId: string, track: HuddleTrack, on: boolean): Promise<Record<string, unknown>> {
    const { bus } = this.deps;
    const meta = bus.meta(caller);
    switch (track) {
      case "audio": {
        const command: ToggleAudio = { meta, huddleId, muted: !on };
        await bus.request("huddles", "ToggleAudio", huddleId, command);
        break;
      }
      case "video": {
        const command: ToggleVideo = { meta, huddleId, videoEnabled: on };
        await bus.request("huddles", "ToggleVideo", huddleId, command);
        break;
      }
      case "screen": {
        const command: ToggleScreenShare = { meta, huddleId, sharing: on };
        await bus.request("huddles", "ToggleScreenShare", huddleId, command);
        break;
      }
      case "hand": {
        const command: RaiseHand = { meta, huddleId, raised: on };
        await bus.request("huddles", "RaiseHand", huddleId, command);
        break;
      }
    }
    return { huddleId };
  }

  /** The huddle ({@link huddleView}), live or ended within the hour, for those it involves. */
  async read(caller: Caller, huddleId: string): Promise<Record<string, unknown>> {
    return huddleView((await this.involving(caller, huddleId)).huddle);
  }

  /** The conversation's live huddle ({@link huddleView}), for its members; `not_found` when it has none. */
  async ofConversation(caller: Caller, conversationId: string): Promise<Record<string, unknown>> {
    if (!(await this.isMember(caller, conversationId))) throw new ServiceError("not_a_member", "no such conversation");
    const huddle = await this.deps.huddles.ofConversation(conversationId);
    if (huddle === undefined || huddle.workspaceId !== caller.workspaceId) throw new ServiceError("not_found", "the conversation has no live huddle");
    return huddleView(huddle);
  }

  /**
   * The huddle, when it involves the caller (see the class), and whether the caller is a member of
   * its conversation; `not_found` otherwise.
   */
  async involving(caller: Caller, huddleId: string): Promise<{ readonly huddle: LiveHuddleView; readonly memberOfConversation: boolean }> {
    const huddle = await this.deps.huddles.huddle(huddleId);
    if (huddle === undefined || huddle.workspaceId !== caller.workspaceId) throw new ServiceError("not_found", "no such huddle");
    const memberOfConversation = huddle.conversationId !== null && (await this.isMember(caller, huddle.conversationId));
    const { userId } = caller;
    const involved = memberOfConversation || huddle.createdBy === userId || huddle.invited.includes(userId) || Object.hasOwn(huddle.participants, userId);
    if (!involved) throw new ServiceError("not_found", "no such huddle");
    return { huddle, memberOfConversation };
  }

  private async isMember(caller: Caller, conversationId: string): Promise<boolean> {
    const membership = this.deps.membership();
    if (membership === undefined) throw new ServiceError("not_available", "huddles in a conversation need the conversations context");
    return membership.isMember(conversationId, caller.userId, caller.workspaceId);
  }

  /** Waits (at most {@link READ_MODEL_WAIT_MS}) until the read model shows the huddle as `shown` says: that view, or undefined after the wait. */
  private shows(huddleId: string, shown: (huddle: LiveHuddleView) => boolean): Promise<LiveHuddleView | undefined> {
    return until(READ_MODEL_WAIT_MS, async () => {
      const huddle = await this.deps.huddles.huddle(huddleId);
      return huddle !== undefined && shown(huddle) ? huddle : undefined;
    });
  }
}

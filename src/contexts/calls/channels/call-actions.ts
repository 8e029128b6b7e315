import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import type { AnswerCall, EndCall, InitiateCall, RejectCall, SendAnswer, SendIceCandidate, SendOffer } from "../../../platform/contract/generated/avro-types.js";
import { ServiceError } from "../../../platform/errors/error-codes.js";
import type { CommandBus } from "../../../platform/gateway/command-bus.js";
import type { SocketIdentity } from "../../../platform/phoenix/channel.js";
import { until } from "../../../platform/sleep.js";
import type { MembershipCheck } from "../../conversations/channels/conversation-family.js";
import { presenceKeys } from "../../presence/projections/presence/presence-model.js";
import { userKeys } from "../../users/projections/profiles/redis-profiles-store.js";
import { iceConfig, type IceServers } from "../ice-servers.js";
import { inCall, type LiveCallView, type SignalKind } from "../projections/live-calls/live-calls-model.js";
import type { LiveCallsReadModel } from "../projections/live-calls/live-calls-read-model.js";
import { callIdOf, initiatePayload, rejectReason, signalPayload } from "./call-payloads.js";

/** How long an initiate or an answer waits for the read model to show it before answering anyway. */
const READ_MODEL_WAIT_MS = 5_000;

/** What the calls' pushes need. */
export interface CallActionsDeps {
  readonly bus: CommandBus;
  readonly calls: LiveCallsReadModel;
  /** Reads the users' and presence read models (the workspace of a callee). */
  readonly redis: Redis;
  readonly topicPrefix: string;
  readonly ice: IceServers;
  /** The conversations' membership check; absent, calls naming a conversation are `not_available`. */
  readonly membership: () => MembershipCheck | undefined;
}

/**
 * What users do with calls over `webrtc:lobby` and `call:{callId}`: each method answers the
 * push's `ok` response or throws a `ServiceError` (the processor's refusal, or the gateway's own
 * checks below). The call aggregate decides; the gateway checks what the call cannot know:
 *
 * - Callees are users of the caller's workspace: the users read model's workspace of the user
 *   (the upstream user service's), or, for a user it does not know, the workspace presence last
 *   saw them connect in. A user neither knows is `not_found` (as is one of another workspace:
 *   no leak of who exists elsewhere).
 * - With a `conversationId`, the caller and every callee must be members (`not_a_member`).
 * - Busy callees (in another live call, per the live-calls read model) are named to the
 *   aggregate, which reports them `busy` and does not ring them.
 * - Signals go between two users in the call (participants, or callees still ringing), per the
 *   read model: `not_found` for a call unknown or over, `not_a_participant` otherwise. The
 *   processor checks the same again, in the call's order.
 *
 * Initiate and answer answer once the read model shows their effect (at most 5 s), so that what
 * the client does next (signals, joining `call:{callId}`) finds it.
 */
export class CallActions {
  constructor(private readonly deps: CallActionsDeps) {}

  /** `call:initiate` → `{callId, iceServers}`. */
  async initiate(identity: SocketIdentity, payload: Record<string, unknown>): Promise<Record<string, unknown>> {
    const { calleeIds, callType, conversationId } = initiatePayload(payload);
    const others = calleeIds.filter((userId) => userId !== identity.userId);
    await this.checkCallees(identity, others, conversationId);
    const { bus, calls } = this.deps;
    const callId = randomUUID();
    const command: InitiateCall = {
      meta: bus.meta(identity),
      callId,
      callType,
      calleeIds: [...calleeIds],
      busyCalleeIds: await calls.busy(others, callId),
      conversationId,
    };
    await bus.request("calls", "InitiateCall", callId, command);
    await until(READ_MODEL_WAIT_MS, () => calls.call(callId));
    return { callId, iceServers: iceConfig(this.deps.ice, identity.userId, Date.now()).iceServers };
  }

  /** `call:answer` `{callId}` → `{callId, iceServers}`: this connection joins the call. */
  async answer(identity: SocketIdentity, payload: Record<string, unknown>): Promise<Record<string, unknown>> {
    const callId = callIdOf(payload);
    const { bus, calls } = this.deps;
    const command: AnswerCall = { meta: bus.meta(identity), callId, connectionId: identity.connectionId };
    await bus.request("calls", "AnswerCall", callId, command);
    await until(READ_MODEL_WAIT_MS, async () => ((await calls.call(callId))?.parties[identity.userId] === "joined" ? true : undefined));
    return { callId, iceServers: iceConfig(this.deps.ice, identity.userId, Date.now()).iceServers };
  }

  /** `call:reject` `{callId, reason?}` → `{callId}`. */
  async reject(identity: SocketIdentity, payload: Record<string, unknown>): Promise<Record<string, unknown>> {
    const callId = callIdOf(payload);
    const command: RejectCall = { meta: this.deps.bus.meta(identity), callId, reason: rejectReason(payload) };
    await this.deps.bus.request("calls", "RejectCall", callId, command);
    return { callId };
  }

  /** `call:end` `{callId}` → `{callId}`: hangs up (a callee still ringing declines). */
  async end(identity: SocketIdentity, payload: Record<string, unknown>): Promise<Record<string, unknown>> {
    const callId = callIdOf(payload);
    const command: EndCall = { meta: this.deps.bus.meta(identity), callId, reason: null };
    await this.deps.bus.request("calls", "EndCall", callId, command);
    return { callId };
  }

  /**
   * A signal for another user of the call (`inCall`: the call the topic names, if any; a payload
   * naming another is `invalid`) → `{}` once on the signaling topic. It reaches the recipient's
   * sockets through the signal relay.
   */
  async signal(kind: SignalKind, identity: SocketIdentity, payload: Record<string, unknown>, topicCallId?: string): Promise<Record<string, unknown>> {
    const signal = signalPayload(kind, topicCallId === undefined || payload.callId !== undefined ? payload : { ...payload, callId: topicCallId });
    const { callId, to } = signal;
    if (topicCallId !== undefined && callId !== topicCallId) throw new ServiceError("invalid", "callId must be the call of this topic");
    if (to === identity.userId) throw new ServiceError("invalid", "a signal goes to another user of the call");
    const call = await this.liveCall(identity, callId);
    if (!inCall(call, identity.userId) || !inCall(call, to)) {
      throw new ServiceError("not_a_participant", "signals go between the participants and ringing callees of the call");
    }
    const { bus } = this.deps;
    const meta = bus.meta(identity, randomUUID(), { expectReply: false });
    const route = { meta, callId, toUserId: to };
    if (signal.kind === "ice-candidate") {
      const { candidate, sdpMid, sdpMLineIndex, usernameFragment } = signal;
      const command: SendIceCandidate = { ...route, candidate, sdpMid, sdpMLineIndex, usernameFragment };
      await bus.dispatch("signaling", "SendIceCandidate", callId, command);
    } else {
      const command: SendOffer & SendAnswer = { ...route, sdp: signal.sdp };
      await bus.dispatch("signaling", signal.kind === "offer" ? "SendOffer" : "SendAnswer", callId, command);
    }
    return {};
  }

  /** The call, when it is live in the caller's workspace; `not_found` otherwise. */
  async liveCall(identity: SocketIdentity, callId: string): Promise<LiveCallView> {
    const call = await this.deps.calls.call(callId);
    if (call === undefined || call.status === "ended" || call.workspaceId !== identity.workspaceId) throw new ServiceError("not_found", "no such call");
    return call;
  }

  private async checkCallees(identity: SocketIdentity, calleeIds: readonly string[], conversationId: string | null): Promise<void> {
    const workspaces = await this.workspacesOf(calleeIds);
    const stranger = calleeIds.find((userId, index) => workspaces[index] !== identity.workspaceId);
    if (stranger !== undefined) throw new ServiceError("not_found", `no user ${stranger} in your workspace`);
    if (conversationId === null) return;
    const membership = this.deps.membership();
    if (membership === undefined) throw new ServiceError("not_available", "calls in a conversation need the conversations context");
    for (const userId of [identity.userId, ...calleeIds]) {
      if (!(await membership.isMember(conversationId, userId, identity.workspaceId))) {
        throw new ServiceError("not_a_member", userId === identity.userId ? "you are not a member of this conversation" : `${userId} is not a member of this conversation`);
      }
    }
  }

  /** Each user's workspace: the user service's if it told us about them, else the one presence last saw them in. */
  private async workspacesOf(userIds: readonly string[]): Promise<(string | null)[]> {
    if (userIds.length === 0) return [];
    const users = userKeys(this.deps.topicPrefix);
    const presence = presenceKeys(this.deps.topicPrefix);
    const pipeline = this.deps.redis.pipeline();
    for (const userId of userIds) pipeline.hget(users.profile(userId), "workspace_id").hget(presence.user(userId), "workspace_id");
    const results = (await pipeline.exec()) ?? [];
    return userIds.map((_, index) => {
      const [profileError, profile] = results[index * 2] ?? [null, null];
      const [presenceError, seen] = results[index * 2 + 1] ?? [null, null];
      if (profileError !== null || presenceError !== null) throw new ServiceError("unavailable", "the users read model could not be read", { cause: profileError ?? presenceError });
      return (profile as string | null) ?? (seen as string | null);
    });
  }
}

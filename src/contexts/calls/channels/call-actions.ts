import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import type {
  AnswerCall,
  EndCall,
  InitiateCall,
  InviteToCall,
  JoinCall,
  LeaveCall,
  RejectCall,
  SendAnswer,
  SendIceCandidate,
  SendOffer,
  StartRecording,
  StopRecording,
} from "../../../platform/contract/generated/avro-types.js";
import { ServiceError } from "../../../platform/errors/error-codes.js";
import type { CommandBus, IssuedBy } from "../../../platform/gateway/command-bus.js";
import type { SocketIdentity } from "../../../platform/phoenix/channel.js";
import { until } from "../../../platform/sleep.js";
import type { MembershipCheck } from "../../conversations/channels/conversation-family.js";
import { requireWorkspaceUsers } from "../../users/workspace-users.js";
import { iceConfig, type IceServers } from "../ice-servers.js";
import { NO_TIMES, inCall, partyOf, timesOf, type LiveCallView, type PartyStatus, type PartyTimes, type SignalKind } from "../projections/live-calls/live-calls-model.js";
import type { LiveCallsReadModel } from "../projections/live-calls/live-calls-read-model.js";
import { callIdOf, initiatePayload, onTopic, rejectReason, signalPayload } from "./call-payloads.js";

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

/** Who acts: a socket's user, or a REST request's caller. */
export type Caller = IssuedBy;

/** One party of a call as `GET /api/calls/:call_id/participants` lists it. */
export interface ParticipantView extends PartyTimes {
  readonly userId: string;
  readonly status: PartyStatus;
}

/**
 * What users do with calls over `webrtc:lobby`, `call:{callId}` and `/api/calls/…`: each method
 * answers the push's `ok` response (the REST route's body) or throws a `ServiceError` (the
 * processor's refusal, or the gateway's own checks below). Methods that take a payload read a
 * socket push; the others take what the socket's payload or the REST route's schema gave. The
 * call aggregate decides; the gateway checks what the call cannot know:
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
 * What concerns one call (invite, the participants, its ICE servers, recording) is for the call's
 * parties only (anyone it involved: its caller, everyone it rang, everyone who joined, in their
 * workspace): for anyone else, a call unknown or ended over an hour ago, it is `not_found`.
 *
 * Initiate, answer, join, invite and the recording's start and stop answer once the read model
 * shows their effect (at most 5 s), so that what the client does next (signals, joining
 * `call:{callId}`, reading the participants or the recording's status) finds it.
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
    await this.shows(callId, () => true);
    return { callId, iceServers: iceConfig(this.deps.ice, identity.userId, Date.now()).iceServers };
  }

  /** `call:answer` `{callId}` → `{callId, iceServers}`: this connection joins the call. */
  async answer(identity: SocketIdentity, payload: Record<string, unknown>): Promise<Record<string, unknown>> {
    const callId = callIdOf(payload);
    const { bus } = this.deps;
    const command: AnswerCall = { meta: bus.meta(identity), callId, connectionId: identity.connectionId };
    await bus.request("calls", "AnswerCall", callId, command);
    return this.joined(identity, callId);
  }

  /**
   * `call:join` `{callId}` → `{callId, iceServers}`: comes into an active call one left, declined,
   * was found busy for or did not answer in time. A callee still ringing answers from this
   * connection instead, so that their other devices stop ringing.
   */
  async join(identity: SocketIdentity, callId: string): Promise<Record<string, unknown>> {
    const call = await this.partyCall(identity, callId);
    if (partyOf(call, identity.userId) === "ringing") return this.answer(identity, { callId });
    const { bus } = this.deps;
    const command: JoinCall = { meta: bus.meta(identity), callId };
    await bus.request("calls", "JoinCall", callId, command);
    return this.joined(identity, callId);
  }

  /** The answer of a join, once the read model shows the user in the call. */
  private async joined(caller: Caller, callId: string): Promise<Record<string, unknown>> {
    await this.shows(callId, (call) => partyOf(call, caller.userId) === "joined");
    return { callId, iceServers: iceConfig(this.deps.ice, caller.userId, Date.now()).iceServers };
  }

  /** `call:leave` `{callId}` → `{callId}`: leaves the call, which goes on for the others (and ends with its last participant). */
  async leave(identity: SocketIdentity, callId: string): Promise<Record<string, unknown>> {
    await this.partyCall(identity, callId);
    const command: LeaveCall = { meta: this.deps.bus.meta(identity), callId };
    await this.deps.bus.request("calls", "LeaveCall", callId, command);
    return { callId };
  }

  /**
   * Rings `calleeIds` into the call (checked as initiate checks its callees) → `{callId, invited,
   * busy}`: the users rung, and those found in another call and not rung. Users already in the
   * call or ringing are in neither list. Only participants (joined) may invite.
   */
  async invite(caller: Caller, callId: string, calleeIds: readonly string[]): Promise<Record<string, unknown>> {
    const call = await this.partyCall(caller, callId);
    const others = calleeIds.filter((userId) => userId !== caller.userId);
    if (others.length === 0) throw new ServiceError("invalid", "invite someone other than yourself");
    await this.checkCallees(caller, others, call.conversationId);
    const { bus, calls } = this.deps;
    const command: InviteToCall = { meta: bus.meta(caller), callId, userIds: others, busyUserIds: await calls.busy(others, callId) };
    const { invited, busy } = await bus.request("calls", "InviteToCall", callId, command);
    const rung = Array.isArray(invited) ? (invited as string[]) : [];
    // Rung again, a user who declined before shows a new invitedAt (or, in views without times, rings).
    const rungAt = (view: LiveCallView, userId: string) => timesOf(view, userId)?.invitedAt ?? null;
    await this.shows(callId, (view) => rung.every((userId) => partyOf(view, userId) === "ringing" || rungAt(view, userId) !== rungAt(call, userId)));
    return { callId, invited: rung, busy: Array.isArray(busy) ? busy : [] };
  }

  /** The call and each of its parties with their status and times. */
  async participants(caller: Caller, callId: string): Promise<Record<string, unknown>> {
    const call = await this.partyCall(caller, callId);
    const { callType, callerId, conversationId, status, startedAt, answeredAt, endReason } = call;
    const participants = Object.keys(call.parties)
      .sort()
      .map((userId): ParticipantView => ({
        userId,
        status: partyOf(call, userId) ?? "left",
        ...(timesOf(call, userId) ?? NO_TIMES),
      }));
    return { callId, type: callType, callerId, conversationId, status, startedAt, answeredAt, endedAt: call.endedAt ?? null, endReason, participants };
  }

  /** The caller's ICE configuration for a live call (`{iceServers, ttl}`); `conflict` once it has ended. */
  async iceServers(caller: Caller, callId: string): Promise<Record<string, unknown>> {
    const call = await this.partyCall(caller, callId);
    if (call.status === "ended") throw new ServiceError("conflict", "the call has ended");
    return { callId, ...iceConfig(this.deps.ice, caller.userId, Date.now()) };
  }

  /** Starts recording an active call with a recording id of the gateway's choosing → `{callId, recordingId}`. */
  async startRecording(caller: Caller, callId: string): Promise<Record<string, unknown>> {
    await this.partyCall(caller, callId);
    const { bus } = this.deps;
    const recordingId = randomUUID();
    const command: StartRecording = { meta: bus.meta(caller), callId, recordingId };
    await bus.request("calls", "StartRecording", callId, command);
    await this.shows(callId, (call) => call.recordingId === recordingId);
    return { callId, recordingId };
  }

  /** Stops the call's running recording → `{callId, recordingId}` (the one stopped); `conflict` when none runs. */
  async stopRecording(caller: Caller, callId: string): Promise<Record<string, unknown>> {
    const { recordingId } = await this.partyCall(caller, callId);
    if (recordingId === null) throw new ServiceError("conflict", "no recording of this call is running");
    const { bus } = this.deps;
    const command: StopRecording = { meta: bus.meta(caller), callId };
    await bus.request("calls", "StopRecording", callId, command);
    await this.shows(callId, (call) => call.recordingId !== recordingId);
    return { callId, recordingId };
  }

  /** Whether the call is being recorded: its recording's id, who started it and when (null when none runs). */
  async recordingStatus(caller: Caller, callId: string): Promise<Record<string, unknown>> {
    const call = await this.partyCall(caller, callId);
    const recording = call.recording ?? null;
    return {
      callId,
      recording: call.recordingId !== null,
      recordingId: call.recordingId,
      startedBy: recording?.startedBy ?? null,
      startedAt: recording?.startedAt ?? null,
    };
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
    const signal = signalPayload(kind, topicCallId === undefined ? payload : onTopic(payload, topicCallId));
    const { callId, to } = signal;
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

  /** The call, when `caller` is one of its parties in its workspace (live, or ended within the hour); `not_found` otherwise. */
  private async partyCall(caller: Caller, callId: string): Promise<LiveCallView> {
    const call = await this.deps.calls.call(callId);
    if (call === undefined || call.workspaceId !== caller.workspaceId || partyOf(call, caller.userId) === undefined) throw new ServiceError("not_found", "no such call");
    return call;
  }

  /** Waits (at most {@link READ_MODEL_WAIT_MS}) until the read model shows `callId` as `shown` says; answers anyway after that. */
  private async shows(callId: string, shown: (call: LiveCallView) => boolean): Promise<void> {
    await until(READ_MODEL_WAIT_MS, async () => {
      const call = await this.deps.calls.call(callId);
      return call !== undefined && shown(call) ? true : undefined;
    });
  }

  private async checkCallees(identity: Caller, calleeIds: readonly string[], conversationId: string | null): Promise<void> {
    await requireWorkspaceUsers(this.deps.redis, this.deps.topicPrefix, identity.workspaceId, calleeIds);
    if (conversationId === null) return;
    const membership = this.deps.membership();
    if (membership === undefined) throw new ServiceError("not_available", "calls in a conversation need the conversations context");
    for (const userId of [identity.userId, ...calleeIds]) {
      if (!(await membership.isMember(conversationId, userId, identity.workspaceId))) {
        throw new ServiceError("not_a_member", userId === identity.userId ? "you are not a member of this conversation" : `${userId} is not a member of this conversation`);
      }
    }
  }
}

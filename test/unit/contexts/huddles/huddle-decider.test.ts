import { describe, expect, it } from "vitest";
import type { HuddleLeaveReason } from "../../../../src/platform/contract/generated/avro-types.js";
import { stepCommand } from "../../../../src/platform/processor/command-step.js";
import type { HuddleCommand } from "../../../../src/contexts/huddles/domain/commands.js";
import { huddleDecider, type HuddleOptions } from "../../../../src/contexts/huddles/domain/decide.js";
import type { DecidedHuddleEvent } from "../../../../src/contexts/huddles/domain/events.js";
import type { HuddleSignalCommand } from "../../../../src/contexts/huddles/domain/signals.js";
import { participantsOf } from "../../../../src/contexts/huddles/domain/state.js";
import { huddleProcessor, huddleTimer } from "../../../../src/contexts/huddles/processor.js";
import { commandMeta, deciderSpec, runCommands } from "../../../support/processor-decider-spec.js";

/** The given events happen at T0 (the spec evolves them with the meta of one command). */
const T0 = 1_700_000_000_000;
const LATER = T0 + 1_000;
const OPTIONS: HuddleOptions = { maxParticipants: 3, emptyTimeoutMs: 0 };
const spec = deciderSpec(huddleDecider(OPTIONS));
/** The same rules with a 30 s empty timeout. */
const EMPTY_TIMEOUT = 30_000;
const waiting = deciderSpec(huddleDecider({ ...OPTIONS, emptyTimeoutMs: EMPTY_TIMEOUT }));
const HUDDLE = "huddle-1";
const CONVERSATION = "conv-1";

// ---- commands, each by its actor at its time (T0 + 1 s unless said otherwise)

const meta = (actorId: string, issuedAt = LATER, workspaceId = "w1") => commandMeta({ commandId: `${actorId}@${issuedAt}`, actorId, issuedAt, workspaceId });

const create = (
  createdBy: string,
  options: { conversationId?: string | null; inviteeIds?: string[]; connectionId?: string | null; muted?: boolean; workspaceId?: string } = {},
): HuddleCommand => ({
  type: "CreateHuddle",
  data: {
    meta: meta(createdBy, T0, options.workspaceId),
    huddleId: HUDDLE,
    conversationId: options.conversationId === undefined ? CONVERSATION : options.conversationId,
    title: null,
    inviteeIds: options.inviteeIds ?? [],
    connectionId: options.connectionId === undefined ? `${createdBy}-laptop` : options.connectionId,
    muted: options.muted ?? false,
    videoEnabled: false,
  },
});
const join = (
  userId: string,
  options: { connectionId?: string | null; member?: boolean; muted?: boolean; videoEnabled?: boolean; issuedAt?: number; workspaceId?: string } = {},
): HuddleCommand => ({
  type: "JoinHuddle",
  data: {
    meta: meta(userId, options.issuedAt, options.workspaceId),
    huddleId: HUDDLE,
    muted: options.muted ?? false,
    videoEnabled: options.videoEnabled ?? false,
    connectionId: options.connectionId === undefined ? `${userId}-laptop` : options.connectionId,
    memberOfConversation: options.member ?? true,
  },
});
const leave = (
  actorId: string,
  options: { userId?: string | null; connectionId?: string | null; reason?: HuddleLeaveReason; issuedAt?: number } = {},
): HuddleCommand => ({
  type: "LeaveHuddle",
  data: {
    meta: meta(actorId, options.issuedAt),
    huddleId: HUDDLE,
    userId: options.userId ?? null,
    connectionId: options.connectionId === undefined ? null : options.connectionId,
    reason: options.reason ?? "left",
  },
});
/** Presence expired `connectionId` of `userId`. */
const lost = (userId: string, connectionId = `${userId}-laptop`, issuedAt = LATER): HuddleCommand =>
  leave("system:presence", { userId, connectionId, reason: "connection_lost", issuedAt });
const invite = (actorId: string, userIds: string[]): HuddleCommand => ({ type: "InviteToHuddle", data: { meta: meta(actorId), huddleId: HUDDLE, userIds } });
const end = (actorId: string, issuedAt = LATER): HuddleCommand => ({ type: "EndHuddle", data: { meta: meta(actorId, issuedAt), huddleId: HUDDLE } });
const audio = (userId: string, muted: boolean): HuddleCommand => ({ type: "ToggleAudio", data: { meta: meta(userId), huddleId: HUDDLE, muted } });
const video = (userId: string, videoEnabled: boolean): HuddleCommand => ({ type: "ToggleVideo", data: { meta: meta(userId), huddleId: HUDDLE, videoEnabled } });
const screen = (userId: string, sharing: boolean): HuddleCommand => ({ type: "ToggleScreenShare", data: { meta: meta(userId), huddleId: HUDDLE, sharing } });
const hand = (userId: string, raised: boolean): HuddleCommand => ({ type: "RaiseHand", data: { meta: meta(userId), huddleId: HUDDLE, raised } });
/** The empty timer's command, issued at its deadline unless said otherwise. */
const expireEmpty = (deadline: number, issuedAt = deadline): HuddleCommand => ({
  type: "ExpireEmptyHuddle",
  data: { meta: commandMeta({ commandId: `timer:${HUDDLE}:ExpireEmptyHuddle:${deadline}`, actorId: "system:timer", issuedAt }), huddleId: HUDDLE, deadline },
});

// ---- events, as decide returns them

const created = (createdBy: string, conversationId: string | null = CONVERSATION): DecidedHuddleEvent => ({
  type: "HuddleCreated",
  data: { huddleId: HUDDLE, createdBy, conversationId, title: null },
});
const invited = (userIds: string[]): DecidedHuddleEvent => ({ type: "HuddleParticipantsInvited", data: { huddleId: HUDDLE, userIds } });
const joined = (userId: string, options: { connectionId?: string | null; muted?: boolean; videoEnabled?: boolean } = {}): DecidedHuddleEvent => ({
  type: "HuddleParticipantJoined",
  data: {
    huddleId: HUDDLE,
    userId,
    muted: options.muted ?? false,
    videoEnabled: options.videoEnabled ?? false,
    connectionId: options.connectionId === undefined ? `${userId}-laptop` : options.connectionId,
  },
});
const left = (userId: string, reason: HuddleLeaveReason = "left", emptyExpiresAt: number | null = null): DecidedHuddleEvent => ({
  type: "HuddleParticipantLeft",
  data: { huddleId: HUDDLE, userId, reason, emptyExpiresAt },
});
const ended = (reason: "ended" | "empty", durationMs: number, endedBy: string | null = null): DecidedHuddleEvent => ({
  type: "HuddleEnded",
  data: { huddleId: HUDDLE, reason, durationMs, endedBy },
});
const audioToggled = (userId: string, muted: boolean): DecidedHuddleEvent => ({ type: "AudioToggled", data: { huddleId: HUDDLE, userId, muted } });
const videoToggled = (userId: string, videoEnabled: boolean): DecidedHuddleEvent => ({ type: "VideoToggled", data: { huddleId: HUDDLE, userId, videoEnabled } });
const screenToggled = (userId: string, sharing: boolean): DecidedHuddleEvent => ({ type: "ScreenShareToggled", data: { huddleId: HUDDLE, userId, sharing } });
const handRaised = (userId: string, raised: boolean): DecidedHuddleEvent => ({ type: "HandRaised", data: { huddleId: HUDDLE, userId, raised } });

// ---- histories (given at T0)

/** alice started a huddle in the conversation, from her laptop. */
const started = [created("alice"), joined("alice")];
/** bob joined alice. */
const together = [...started, joined("bob")];
/** alice started a standalone huddle inviting bob and carol. */
const standalone = [created("alice", null), invited(["bob", "carol"]), joined("alice")];
/** alice ended it. */
const over = [...together, ended("ended", 0, "alice")];

const participants = (history: readonly DecidedHuddleEvent[]) => {
  const state = spec.given(history).state;
  return state.status === "live" ? participantsOf(state) : [];
};

describe("huddle decider", () => {
  describe("when there is no huddle", () => {
    it("starts a huddle in a conversation with its creator in it, from the connection it was started from", () => {
      spec.given([]).when(create("alice")).then([created("alice"), joined("alice")]);
      spec.given([]).when(create("alice", { connectionId: null, muted: true })).then([created("alice"), joined("alice", { connectionId: null, muted: true })]);
    });

    it("starts a standalone huddle with its invitees, each once and never the creator", () => {
      spec
        .given([])
        .when(create("alice", { conversationId: null, inviteeIds: ["carol", "bob", "alice", "carol"] }))
        .then([created("alice", null), invited(["bob", "carol"]), joined("alice")]);
    });

    it("refuses a standalone huddle with nobody to invite, an empty id or an empty invitee", () => {
      spec.given([]).when(create("alice", { conversationId: null })).thenThrows("invalid", /someone to invite/);
      spec.given([]).when(create("alice", { conversationId: null, inviteeIds: ["alice"] })).thenThrows("invalid");
      spec.given([]).when(create("alice", { inviteeIds: ["bob", ""] })).thenThrows("invalid");
      spec.given([]).when(create("alice", { conversationId: "" })).thenThrows("invalid");
      spec.given([]).when({ ...create("alice"), data: { ...(create("alice").data as object), huddleId: "" } } as HuddleCommand).thenThrows("invalid");
    });

    it("answers every other command not_found, and ignores the timer", () => {
      for (const command of [join("bob"), leave("bob"), lost("bob"), invite("bob", ["dan"]), end("bob"), audio("bob", true), video("bob", true), screen("bob", true), hand("bob", true)]) {
        spec.given([]).when(command).thenThrows("not_found");
      }
      spec.given([]).when(expireEmpty(T0)).thenNothingHappened();
      expect(huddleTimer(spec.given([]).state, HUDDLE)).toBeUndefined();
    });
  });

  describe("when the huddle is live", () => {
    it("is created once: again by its creator is a no-op, by anyone else a conflict", () => {
      spec.given(started).when(create("alice")).thenNothingHappened();
      spec.given(started).when(create("bob")).thenThrows("conflict");
      spec.given(started).when(create("alice", { workspaceId: "w2" })).thenThrows("conflict");
    });

    it("lets a member of its conversation join with their arrival state", () => {
      spec.given(started).when(join("bob", { muted: true, videoEnabled: true })).then([joined("bob", { muted: true, videoEnabled: true })]);
      expect(participants([...started, joined("bob", { muted: true, videoEnabled: true })])).toEqual([
        { userId: "alice", connectionId: "alice-laptop", audio: true, video: false, screen: false, handRaised: false, joinedAt: T0 },
        { userId: "bob", connectionId: "bob-laptop", audio: false, video: true, screen: false, handRaised: false, joinedAt: T0 },
      ]);
    });

    it("refuses whom the gateway did not find a member, unless invited", () => {
      spec.given(started).when(join("mallory", { member: false })).thenThrows("not_a_member");
      spec.given([...started, invited(["dan"])]).when(join("dan", { member: false })).then([joined("dan")]);
    });

    it("admits in a standalone huddle its invitees and creator only, whatever the gateway says of membership", () => {
      spec.given(standalone).when(join("bob", { member: false })).then([joined("bob")]);
      spec.given(standalone).when(join("mallory", { member: true })).thenThrows("not_a_member");
      spec.given([...standalone, left("alice", "left", T0 + EMPTY_TIMEOUT)]).when(join("alice", { member: false })).then([joined("alice")]);
    });

    it("is not found from another workspace", () => {
      spec.given(started).when(join("bob", { workspaceId: "w2" })).thenThrows("not_found");
    });

    it("takes no more than its maximum: one more is huddle_full, until someone leaves", () => {
      const full = [...together, joined("carol")];
      spec.given(full).when(join("dan")).thenThrows("huddle_full", /3 participants/);
      spec.given([...full, left("bob")]).when(join("dan")).then([joined("dan")]);
      spec.given(full).when(join("carol", { connectionId: "carol-phone" })).then([left("carol", "moved"), joined("carol", { connectionId: "carol-phone" })]);
    });

    it("ignores a second join from the same connection, or over REST", () => {
      spec.given(together).when(join("bob")).thenNothingHappened();
      spec.given(together).when(join("bob", { connectionId: null })).thenNothingHappened();
    });

    it("moves a participant joining from another connection there: left (moved), then joined afresh", () => {
      const history = [...together, audioToggled("bob", true), screenToggled("bob", true)];
      spec.given(history).when(join("bob", { connectionId: "bob-phone" })).then([left("bob", "moved"), joined("bob", { connectionId: "bob-phone" })]);
      const moved = [...history, left("bob", "moved"), joined("bob", { connectionId: "bob-phone" })];
      expect(participants(moved).find((p) => p.userId === "bob")).toMatchObject({ connectionId: "bob-phone", audio: true, screen: false });
      // The old connection closing later does not take bob out of the huddle.
      spec.given(moved).when(lost("bob", "bob-laptop")).thenNothingHappened();
      spec.given(moved).when(leave("bob", { connectionId: "bob-laptop" })).thenNothingHappened();
    });

    it("lets a participant leave; the others stay", () => {
      spec.given(together).when(leave("bob")).then([left("bob")]);
      spec.given(together).when(leave("bob", { connectionId: "bob-laptop" })).then([left("bob")]);
      spec.given(together).when(leave("dan")).thenNothingHappened();
    });

    it("removes a participant whose connection presence expired, as connection_lost", () => {
      spec.given(together).when(lost("bob")).then([left("bob", "connection_lost")]);
      spec.given(together).when(lost("dan")).thenNothingHappened();
      spec.given(together).when(leave("system:presence", { userId: "bob", reason: "connection_lost" })).thenThrows("invalid", /lost connection/);
    });

    it("lets the creator (or the system) remove a participant, nobody else", () => {
      spec.given(together).when(leave("alice", { userId: "bob", reason: "removed" })).then([left("bob", "removed")]);
      spec.given(together).when(leave("system:users", { userId: "bob", reason: "removed" })).then([left("bob", "removed")]);
      spec.given(together).when(leave("bob", { userId: "alice", reason: "removed" })).thenThrows("forbidden");
      spec.given(together).when(leave("mallory", { userId: "alice", reason: "removed" })).thenThrows("not_a_member");
    });

    it("refuses leaving on someone else's behalf and asking for moved", () => {
      spec.given(together).when(leave("bob", { userId: "alice" })).thenThrows("invalid");
      spec.given(together).when(leave("bob", { reason: "moved" })).thenThrows("invalid");
    });

    it("lets participants invite more users, each once, leaving out those already in or invited", () => {
      spec.given(together).when(invite("bob", ["dan", "alice", "bob", "dan", "erin"])).then([invited(["dan", "erin"])]);
      spec.given([...together, invited(["dan"])]).when(invite("alice", ["dan"])).thenNothingHappened();
      spec.given(together).when(invite("carol", ["dan"])).thenThrows("not_a_participant");
      spec.given(together).when(invite("bob", [""])).thenThrows("invalid");
    });

    it("toggles each participant's audio to the state asked for, once", () => {
      spec.given(together).when(audio("bob", true)).then([audioToggled("bob", true)]);
      spec.given(together).when(audio("bob", false)).thenNothingHappened();
      spec.given([...together, audioToggled("bob", true)]).when(audio("bob", false)).then([audioToggled("bob", false)]);
      spec.given([...together, audioToggled("bob", true)]).when(audio("bob", true)).thenNothingHappened();
      expect(participants([...together, audioToggled("bob", true)]).map((p) => [p.userId, p.audio])).toEqual([["alice", true], ["bob", false]]);
    });

    it("toggles each participant's video to the state asked for, once", () => {
      spec.given(together).when(video("bob", true)).then([videoToggled("bob", true)]);
      spec.given(together).when(video("bob", false)).thenNothingHappened();
      spec.given([...together, videoToggled("bob", true)]).when(video("bob", false)).then([videoToggled("bob", false)]);
      expect(participants([...together, videoToggled("bob", true)]).map((p) => [p.userId, p.video])).toEqual([["alice", false], ["bob", true]]);
    });

    it("raises and lowers a hand, once each", () => {
      spec.given(together).when(hand("bob", true)).then([handRaised("bob", true)]);
      spec.given(together).when(hand("bob", false)).thenNothingHappened();
      spec.given([...together, handRaised("bob", true)]).when(hand("bob", false)).then([handRaised("bob", false)]);
      expect(participants([...together, handRaised("bob", true)]).map((p) => [p.userId, p.handRaised])).toEqual([["alice", false], ["bob", true]]);
    });

    it("shares one screen at a time: a second sharer takes over, the first share stopping first", () => {
      spec.given(together).when(screen("bob", true)).then([screenToggled("bob", true)]);
      const sharing = [...together, screenToggled("bob", true)];
      spec.given(sharing).when(screen("bob", true)).thenNothingHappened();
      spec.given(sharing).when(screen("alice", true)).then([screenToggled("bob", false), screenToggled("alice", true)]);
      spec.given(sharing).when(screen("alice", false)).thenNothingHappened();
      spec.given(sharing).when(screen("bob", false)).then([screenToggled("bob", false)]);
      const takenOver = [...sharing, screenToggled("bob", false), screenToggled("alice", true)];
      expect(participants(takenOver).filter((p) => p.screen).map((p) => p.userId)).toEqual(["alice"]);
    });

    it("refuses toggles of those not in it", () => {
      for (const command of [audio("carol", true), video("carol", true), screen("carol", true), hand("carol", true)]) {
        spec.given(together).when(command).thenThrows("not_a_participant");
      }
      spec.given([...together, left("bob")]).when(audio("bob", true)).thenThrows("not_a_participant");
    });

    it("forgets a participant's media and hand when they leave", () => {
      const history = [...together, screenToggled("bob", true), handRaised("bob", true), left("bob"), joined("bob")];
      expect(participants(history).find((p) => p.userId === "bob")).toMatchObject({ audio: true, video: false, screen: false, handRaised: false });
    });

    it("is ended by its creator, in it or not, with its duration since creation", () => {
      spec.given(together).when(end("alice", T0 + 90_000)).then([ended("ended", 90_000, "alice")]);
      spec.given([...together, left("alice")]).when(end("alice", T0 + 5_000)).then([ended("ended", 5_000, "alice")]);
    });

    it("refuses an end by anyone else: forbidden to those it involves, not a member to strangers", () => {
      spec.given(together).when(end("bob")).thenThrows("forbidden", /creator/);
      spec.given(standalone).when(end("carol")).thenThrows("forbidden");
      spec.given(together).when(end("mallory")).thenThrows("not_a_member");
    });

    it("has no timer while someone is in it", () => {
      expect(huddleTimer(spec.given(together).state, HUDDLE)).toBeUndefined();
    });
  });

  describe("when the last participant leaves", () => {
    it("ends empty at once with no empty timeout, whatever made them leave", () => {
      spec.given(started).when(leave("alice", { issuedAt: T0 + 60_000 })).then([left("alice"), ended("empty", 60_000)]);
      spec.given([...together, left("alice")]).when(lost("bob")).then([left("bob", "connection_lost"), ended("empty", 1_000)]);
      spec.given(together.concat(left("bob"))).when(leave("alice", { userId: "alice", reason: "removed" })).then([left("alice", "removed"), ended("empty", 1_000)]);
    });

    it("does not end when the last one moves to another connection", () => {
      spec.given(started).when(join("alice", { connectionId: "alice-phone" })).then([left("alice", "moved"), joined("alice", { connectionId: "alice-phone" })]);
    });

    it("with an empty timeout, waits until its deadline: the timer ends it then", () => {
      const deadline = LATER + EMPTY_TIMEOUT;
      waiting.given(started).when(leave("alice")).then([left("alice", "left", deadline)]);
      const empty = [...started, left("alice", "left", deadline)];
      expect(huddleTimer(waiting.given(empty).state, HUDDLE)).toEqual({
        at: deadline,
        workspaceId: "w1",
        command: { type: "ExpireEmptyHuddle", data: { huddleId: HUDDLE, deadline } },
      });
      waiting.given(empty).when(expireEmpty(deadline)).then([ended("empty", deadline - T0)]);
      waiting.given(empty).when(expireEmpty(deadline, deadline - 1)).thenNothingHappened();
      waiting.given(empty).when(expireEmpty(deadline - 5_000)).thenNothingHappened();
    });

    it("with an empty timeout, stays open for whoever joins before the deadline", () => {
      const deadline = LATER + EMPTY_TIMEOUT;
      const empty = [...started, left("alice", "connection_lost", deadline)];
      waiting.given(empty).when(join("bob")).then([joined("bob")]);
      const rejoined = [...empty, joined("bob")];
      expect(huddleTimer(waiting.given(rejoined).state, HUDDLE)).toBeUndefined();
      waiting.given(rejoined).when(expireEmpty(deadline)).thenNothingHappened();
      // Empty again later: a new deadline, and the old timer no longer matches.
      const later = deadline + 10_000;
      const emptyAgain = [...rejoined, left("bob", "left", later)];
      waiting.given(emptyAgain).when(expireEmpty(deadline, later)).thenNothingHappened();
      waiting.given(emptyAgain).when(expireEmpty(later)).then([ended("empty", later - T0)]);
    });
  });

  describe("when the huddle has ended", () => {
    it("refuses to be joined, toggled or invited to, and is not found elsewhere", () => {
      for (const command of [join("bob"), invite("alice", ["dan"]), audio("alice", true), video("alice", true), screen("alice", true), hand("alice", true)]) {
        spec.given(over).when(command).thenThrows("conflict", /ended/);
      }
      spec.given(over).when(join("bob", { workspaceId: "w2" })).thenThrows("not_found");
    });

    it("takes a repeated end, leave, loss or creation as done", () => {
      spec.given(over).when(end("alice")).thenNothingHappened();
      spec.given(over).when(leave("bob")).thenNothingHappened();
      spec.given(over).when(lost("bob")).thenNothingHappened();
      spec.given(over).when(create("alice")).thenNothingHappened();
      spec.given(over).when(expireEmpty(LATER)).thenNothingHappened();
    });

    it("still refuses an end by anyone but its creator", () => {
      spec.given(over).when(end("bob")).thenThrows("not_a_member");
      spec.given([created("alice", null), invited(["bob"]), joined("alice"), ended("ended", 0, "alice")]).when(end("bob")).thenThrows("forbidden");
    });
  });

  describe("its state", () => {
    it("treats user ids as plain keys, __proto__ included", () => {
      const history = [created("alice", null), invited(["__proto__"]), joined("alice")];
      spec.given(history).when(join("__proto__", { member: false })).then([joined("__proto__")]);
      spec.given(history).when(join("constructor", { member: false })).thenThrows("not_a_member");
      expect(participants([...history, joined("__proto__")]).map((p) => p.userId)).toEqual(["__proto__", "alice"]);
    });

    it("is total: events that do not apply change nothing", () => {
      expect(spec.given([joined("bob"), left("bob"), audioToggled("bob", true), ended("empty", 0)]).state).toEqual({ status: "absent" });
      expect(spec.given([...started, audioToggled("bob", true), screenToggled("bob", true)]).state).toEqual(spec.given(started).state);
      expect(spec.given([...over, created("mallory"), joined("eve")]).state).toEqual(spec.given(over).state);
    });

    it("survives the changelog's JSON round trip", () => {
      const state = spec.given([...together, invited(["dan"]), screenToggled("bob", true)]).state;
      expect(JSON.parse(JSON.stringify(state))).toEqual(state);
    });
  });

  describe("when a signal is sent", () => {
    const offer = (from: string, to: string, workspaceId = "w1"): HuddleSignalCommand => ({
      type: "SendHuddleOffer",
      data: { meta: meta(from, LATER, workspaceId), huddleId: HUDDLE, toUserId: to, sdp: "v=0" },
    });
    const answer = (from: string, to: string): HuddleSignalCommand => ({
      type: "SendHuddleAnswer",
      data: { meta: meta(from), huddleId: HUDDLE, toUserId: to, sdp: "v=0 answer" },
    });
    const candidate = (from: string, to: string): HuddleSignalCommand => ({
      type: "SendHuddleIceCandidate",
      data: { meta: meta(from), huddleId: HUDDLE, toUserId: to, candidate: "candidate:1", sdpMid: "0", sdpMLineIndex: 0, usernameFragment: "uf" },
    });

    it("relays offers, answers and candidates between two participants, unchanged, with their sender", () => {
      spec.given(together).when(offer("alice", "bob")).then([{ type: "HuddleOfferRelayed", data: { huddleId: HUDDLE, fromUserId: "alice", toUserId: "bob", sdp: "v=0" } }]);
      spec.given(together).when(answer("bob", "alice")).then([{ type: "HuddleAnswerRelayed", data: { huddleId: HUDDLE, fromUserId: "bob", toUserId: "alice", sdp: "v=0 answer" } }]);
      spec
        .given(together)
        .when(candidate("bob", "alice"))
        .then([
          {
            type: "HuddleIceCandidateRelayed",
            data: { huddleId: HUDDLE, fromUserId: "bob", toUserId: "alice", candidate: "candidate:1", sdpMid: "0", sdpMLineIndex: 0, usernameFragment: "uf" },
          },
        ]);
    });

    it("refuses a sender or a recipient who is not a participant now: a stranger, an invitee not joined, one who left", () => {
      spec.given(together).when(offer("mallory", "bob")).thenThrows("not_a_participant", /participants of the huddle/);
      spec.given(together).when(offer("alice", "mallory")).thenThrows("not_a_participant");
      spec.given(standalone).when(offer("alice", "bob")).thenThrows("not_a_participant");
      spec.given(standalone).when(offer("bob", "alice")).thenThrows("not_a_participant");
      spec.given([...together, joined("carol"), left("bob")]).when(offer("carol", "bob")).thenThrows("not_a_participant");
    });

    it("refuses a huddle that is over, unknown or of another workspace as not_found, and a signal to oneself as invalid", () => {
      spec.given(over).when(offer("alice", "bob")).thenThrows("not_found", /no such huddle/);
      spec.given([]).when(offer("alice", "bob")).thenThrows("not_found");
      spec.given(together).when(offer("alice", "bob", "w2")).thenThrows("not_found");
      spec.given(together).when(offer("alice", "alice")).thenThrows("invalid");
    });

    it("changes nothing in the huddle", () => {
      const relayed = spec.given(together).state;
      const decided = huddleDecider(OPTIONS).decide(offer("alice", "bob"), relayed);
      expect(spec.given([...together, ...decided]).state).toEqual(relayed);
    });
  });

  describe("the huddles processor", () => {
    const definition = huddleProcessor(OPTIONS);
    const window = definition.dedupe!;

    const run = (...commands: HuddleCommand[]) => runCommands(definition, commands);

    it("runs the huddles context and the huddles' signals with its decider and timer", () => {
      expect(definition.contexts).toEqual(["huddles", "huddlesignaling"]);
      const empty = [...started, left("alice", "left", LATER)];
      expect(definition.timer?.(spec.given(empty).state, HUDDLE)).toEqual(huddleTimer(spec.given(empty).state, HUDDLE));
      expect(huddleTimer(spec.given(empty).state, HUDDLE)).toMatchObject({ at: LATER });
    });

    /** `command` under its own id (the helpers' ids are actor and time only). */
    const withId = (command: HuddleCommand, commandId: string): HuddleCommand => ({ ...command, data: { ...command.data, meta: { ...command.data.meta, commandId } } }) as HuddleCommand;

    it("emits each event once when commands are redelivered with the same id", () => {
      const commands = [create("alice"), join("bob"), screen("bob", true), leave("bob"), end("alice")].map((command, index) => withId(command, `c${index}`));
      const { events } = run(...commands.flatMap((command) => [command, command]));
      expect(events.map((event) => event.type)).toEqual(["HuddleCreated", "HuddleParticipantJoined", "HuddleParticipantJoined", "ScreenShareToggled", "HuddleParticipantLeft", "HuddleEnded"]);
    });

    it("answers a redelivered command with its first outcome, even a rejection", () => {
      const { snapshot } = run(create("alice"), join("bob"), join("carol"));
      const full = stepCommand(definition, snapshot, join("dan"), window);
      expect(full).toMatchObject({ kind: "rejected", outcome: { ok: false, error: { code: "huddle_full" } } });
      const { snapshot: after } = run(create("alice"), join("bob"), join("carol"), join("dan"));
      expect(stepCommand(definition, after, join("dan"), window)).toMatchObject({ kind: "duplicate", outcome: { ok: false, error: { code: "huddle_full" } } });
    });

    it("answers {huddleId}", () => {
      expect(stepCommand(definition, undefined, create("alice"), window)).toMatchObject({ kind: "accepted", outcome: { ok: true, result: { huddleId: HUDDLE } } });
    });
  });
});

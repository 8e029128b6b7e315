import { describe, expect, it } from "vitest";
import { withEventMeta } from "../../../../src/platform/processor/event-meta.js";
import { typingExpiryTimer, typingProcessor } from "../../../../src/contexts/typing/processor.js";
import type { TypingCommand } from "../../../../src/contexts/typing/domain/commands.js";
import { typingDecider } from "../../../../src/contexts/typing/domain/decide.js";
import type { DecidedTypingEvent, TypingEvent } from "../../../../src/contexts/typing/domain/events.js";
import type { TypingState } from "../../../../src/contexts/typing/domain/state.js";
import { commandMeta, deciderSpec } from "../../../support/processor-decider-spec.js";

const TIMEOUT = 5_000;
const T0 = 1_700_000_000_000;
const decider = typingDecider({ timeoutMs: TIMEOUT });
const spec = deciderSpec(decider);

// ---- commands

const start = (userId: string, issuedAt = T0): TypingCommand => ({
  type: "StartTyping",
  data: { meta: commandMeta({ actorId: userId, issuedAt }), conversationId: "c1", userId },
});
const stop = (userId: string, issuedAt = T0 + 1_000): TypingCommand => ({
  type: "StopTyping",
  data: { meta: commandMeta({ actorId: userId, issuedAt }), conversationId: "c1", userId },
});
/** The timer's command: issued at its deadline unless said otherwise. */
const expire = (userId: string, deadline: number, issuedAt = deadline): TypingCommand => ({
  type: "ExpireTyping",
  data: { meta: commandMeta({ actorId: "system:timer", issuedAt }), conversationId: "c1", userId, deadline },
});

// ---- events, as decide returns them

const started = (userId: string, expiresAt: number): DecidedTypingEvent => ({
  type: "TypingStarted",
  data: { conversationId: "c1", userId, expiresAt },
});
const stopped = (userId: string, reason: "stopped" | "expired"): DecidedTypingEvent => ({
  type: "TypingStopped",
  data: { conversationId: "c1", userId, reason },
});

/** The state after `events`, each decided at its own time, as the runtime would evolve them. */
function stateAfter(...steps: [issuedAt: number, event: DecidedTypingEvent][]): TypingState {
  return steps.reduce(
    (state, [issuedAt, event], index) =>
      withEventMeta<TypingEvent>(commandMeta({ commandId: `history-${index}`, issuedAt }), [event]).reduce((folded, event) => decider.evolve(folded, event), state),
    decider.initialState(),
  );
}

describe("typing decider", () => {
  describe("when nobody is typing", () => {
    it("starts an indicator that ends one timeout after the command", () => {
      spec.given([]).when(start("u1")).then([started("u1", T0 + TIMEOUT)]);
    });

    it("ignores a stop and any expiry", () => {
      spec.given([]).when(stop("u1")).thenNothingHappened();
      spec.given([]).when(expire("u1", T0 + TIMEOUT)).thenNothingHappened();
    });

    it("has no timer", () => {
      expect(typingExpiryTimer(spec.given([]).state, "c1")).toBeUndefined();
    });
  });

  describe("when u1 is typing", () => {
    const typing = [started("u1", T0 + TIMEOUT)];

    it("renews the indicator with a later deadline, as another start", () => {
      spec.given(typing).when(start("u1", T0 + 2_000)).then([started("u1", T0 + 2_000 + TIMEOUT)]);
    });

    it("stops it when u1 says so, and ignores a stop by someone not typing", () => {
      spec.given(typing).when(stop("u1")).then([stopped("u1", "stopped")]);
      spec.given(typing).when(stop("u2")).thenNothingHappened();
    });

    it("expires it when the timer comes at its deadline", () => {
      spec.given(typing).when(expire("u1", T0 + TIMEOUT)).then([stopped("u1", "expired")]);
    });

    it("expires it when the timer comes late", () => {
      spec.given(typing).when(expire("u1", T0 + TIMEOUT, T0 + TIMEOUT + 3_000)).then([stopped("u1", "expired")]);
    });

    it("ignores an expiry whose deadline has not passed yet", () => {
      spec.given(typing).when(expire("u1", T0 + TIMEOUT, T0 + TIMEOUT - 1)).thenNothingHappened();
    });

    it("sets the timer to the deadline: ExpireTyping for u1 in the conversation's workspace", () => {
      expect(typingExpiryTimer(spec.given(typing).state, "c1")).toEqual({
        at: T0 + TIMEOUT,
        workspaceId: "w1",
        command: { type: "ExpireTyping", data: { conversationId: "c1", userId: "u1", deadline: T0 + TIMEOUT } },
      });
    });

    it("is quiet again once stopped: no typist, no timer", () => {
      const state = spec.given([...typing, stopped("u1", "stopped")]).state;
      expect(state).toEqual({ status: "quiet" });
      expect(typingExpiryTimer(state, "c1")).toBeUndefined();
    });
  });

  describe("when u1 renewed the indicator before its deadline", () => {
    const renewed = [started("u1", T0 + TIMEOUT), started("u1", T0 + 3_000 + TIMEOUT)];

    it("ignores the timer of the first deadline (a late timer is harmless)", () => {
      spec.given(renewed).when(expire("u1", T0 + TIMEOUT)).thenNothingHappened();
    });

    it("moves the timer to the new deadline, which expires it", () => {
      const state = spec.given(renewed).state;
      expect(typingExpiryTimer(state, "c1")).toMatchObject({ at: T0 + 3_000 + TIMEOUT, command: { data: { deadline: T0 + 3_000 + TIMEOUT } } });
      spec.given(renewed).when(expire("u1", T0 + 3_000 + TIMEOUT)).then([stopped("u1", "expired")]);
    });
  });

  describe("when u1 and u2 are typing", () => {
    const both = [started("u2", T0 + TIMEOUT + 500), started("u1", T0 + TIMEOUT)];

    it("stops one and keeps the other typing", () => {
      const state = spec.given([...both, stopped("u1", "stopped")]).state;
      expect(state).toEqual({ status: "typing", workspaceId: "w1", typists: { u2: T0 + TIMEOUT + 500 } });
    });

    it("sets the timer to the earliest deadline, then to the next once it expired", () => {
      expect(typingExpiryTimer(spec.given(both).state, "c1")).toMatchObject({ at: T0 + TIMEOUT, command: { data: { userId: "u1" } } });
      spec.given(both).when(expire("u1", T0 + TIMEOUT)).then([stopped("u1", "expired")]);
      const after = spec.given([...both, stopped("u1", "expired")]).state;
      expect(typingExpiryTimer(after, "c1")).toMatchObject({ at: T0 + TIMEOUT + 500, command: { data: { userId: "u2" } } });
    });
  });

  describe("when u1 and u2 started typing at the same instant", () => {
    const tied = [started("u2", T0 + TIMEOUT), started("u1", T0 + TIMEOUT)];

    it("expires both with the one timer command (theirs would share its commandId)", () => {
      expect(typingExpiryTimer(spec.given(tied).state, "c1")).toMatchObject({ at: T0 + TIMEOUT, command: { data: { userId: "u1" } } });
      spec.given(tied).when(expire("u1", T0 + TIMEOUT)).then([stopped("u1", "expired"), stopped("u2", "expired")]);
    });

    it("still expires the other when the named one renewed", () => {
      const renewed = [...tied, started("u1", T0 + 1_000 + TIMEOUT)];
      spec.given(renewed).when(expire("u1", T0 + TIMEOUT)).then([stopped("u2", "expired")]);
    });
  });

  describe("the state", () => {
    it("survives the changelog's JSON round trip", () => {
      const state = stateAfter([T0, started("u1", T0 + TIMEOUT)], [T0 + 100, started("u2", T0 + 100 + TIMEOUT)]);
      expect(JSON.parse(JSON.stringify(state))).toEqual(state);
      expect(state).toEqual({ status: "typing", workspaceId: "w1", typists: { u1: T0 + TIMEOUT, u2: T0 + 100 + TIMEOUT } });
    });

    it("treats user ids as plain keys, __proto__ included", () => {
      const state = stateAfter([T0, started("__proto__", T0 + TIMEOUT)]);
      expect(Object.keys((state as { typists: object }).typists)).toEqual(["__proto__"]);
      spec.given([started("__proto__", T0 + TIMEOUT)]).when(stop("__proto__")).then([stopped("__proto__", "stopped")]);
      spec.given([]).when(stop("constructor")).thenNothingHappened();
    });

    it("ignores a stop of someone not typing (evolve is total)", () => {
      expect(stateAfter([T0, stopped("u1", "stopped")])).toEqual({ status: "quiet" });
      expect(stateAfter([T0, started("u1", T0 + TIMEOUT)], [T0 + 1, stopped("u2", "expired")])).toEqual({
        status: "typing",
        workspaceId: "w1",
        typists: { u1: T0 + TIMEOUT },
      });
    });
  });

  describe("the typing processor", () => {
    it("runs the typing context with its timer and a short dedupe window", () => {
      const definition = typingProcessor({ timeoutMs: TIMEOUT });
      expect(definition.contexts).toEqual(["typing"]);
      expect(definition.dedupe).toEqual({ maxEntries: 16, maxAgeMs: 60_000 });
      const typing = stateAfter([T0, started("u1", T0 + TIMEOUT)]);
      expect(definition.timer?.(typing, "c1")).toEqual(typingExpiryTimer(typing, "c1"));
      expect(definition.timer?.(typing, "c1")).toMatchObject({ at: T0 + TIMEOUT });
      expect(definition.decider.decide(start("u1"), definition.decider.initialState())).toEqual([started("u1", T0 + TIMEOUT)]);
    });
  });
});

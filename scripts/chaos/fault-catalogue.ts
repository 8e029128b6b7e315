/**
 * The faults of a chaos run, in the order they are injected, numbered from 1 for CHAOS_FAULTS:
 *
 *   1. kill -9 gateway A (of A and B; restarted on its port: A's clients reconnect, B's go on)
 *   2. kill -9 the processor (restarted 11 s later: pushes in flight time out and are retried)
 *   3. kill -9 the projector
 *   4. the Kafka broker stopped and started (the local stack's functions, same data)
 *   5. the machine's Redis restarted (nothing kept: presence, caches, checkpoints are lost)
 *   6. the machine's MariaDB stopped cleanly and started
 *
 * Every fault's recovery is measured the same way, from the moment it is in effect (role killed,
 * server stopped): the first acknowledgement of a push sent after that moment, and the moment
 * every sender has had one ({@link recoveryAfter}); then presence converging (the run's step).
 */
import type { Ack } from "./message-load.js";
import type { MachineServices } from "./machine-services.js";
import type { RoleSlot } from "./supervised-roles.js";

export interface Fault {
  readonly name: string;
  /** How long the component stays down between inject and undo. */
  readonly outageMs: number;
  /** Why this fault cannot be injected on this machine, or undefined; asked before the load starts. */
  preflight(): Promise<string | undefined>;
  /** Puts the fault in effect; resolves a line for the timeline. */
  inject(): Promise<string>;
  /** Ends the fault; resolves once the component serves again, with a line for the timeline. */
  undo(): Promise<string>;
}

/** What the faults act on. */
export interface FaultTargets {
  readonly gatewayA: RoleSlot;
  readonly processor: RoleSlot;
  readonly projector: RoleSlot;
  readonly machine: MachineServices;
}

const killRole = (name: string, slot: RoleSlot, outageMs: number): Fault => ({
  name,
  outageMs,
  preflight: async () => undefined,
  inject: async () => `SIGKILL ${slot.name} pid ${slot.process?.child.pid}: exit ${await slot.kill()}`,
  undo: async () => {
    slot.start();
    await slot.ready();
    return `${slot.name} restarted (pid ${slot.process?.child.pid}) and ready`;
  },
});

/** A machine service stopped for 3 s and started again; `stopped` and `started` are the timeline's lines. */
const restart = (
  name: string,
  preflight: () => Promise<string | undefined>,
  stop: () => Promise<void>,
  stopped: string,
  start: () => Promise<void>,
  started: string,
): Fault => ({
  name,
  outageMs: 3_000,
  preflight,
  inject: async () => {
    await stop();
    return stopped;
  },
  undo: async () => {
    await start();
    return started;
  },
});

export function faultCatalogue({ gatewayA, processor, projector, machine }: FaultTargets): Fault[] {
  return [
    killRole("kill -9 gateway (1 of 2)", gatewayA, 2_000),
    // Longer than the gateway's 10 s command timeout: pushes in flight are answered `timeout` and
    // retried while their first commands still wait in Kafka, so the new processor sees each twice.
    killRole("kill -9 processor", processor, 11_000),
    killRole("kill -9 projector", projector, 1_000),
    restart("Kafka broker restart", () => machine.kafkaRestartable(), () => machine.stopKafka(), "Kafka stopped (clean shutdown)", () => machine.startKafka(), "Kafka answering again"),
    restart("Redis restart (nothing kept)", () => machine.redisRestartable(), () => machine.stopRedis(), "Redis shut down (nosave)", () => machine.startRedis(), "Redis answering again (empty)"),
    restart("MariaDB restart", () => machine.mariadbRestartable(), () => machine.stopMariadb(), "MariaDB shut down cleanly", () => machine.startMariadb(), "MariaDB answering queries again"),
  ];
}

/**
 * The faults CHAOS_FAULTS names ("2,5": numbered from 1 in catalogue order, kept in that order),
 * or all of them when it is unset. Throws on anything but the numbers of `all`, so that a typo
 * fails the run instead of running no fault at all.
 */
export function selectFaults<T>(all: readonly T[], spec: string | undefined): T[] {
  if (spec === undefined) return [...all];
  const numbers = spec.split(",").map((part) => part.trim());
  const wrong = numbers.filter((part) => !/^\d+$/.test(part) || Number(part) < 1 || Number(part) > all.length);
  if (wrong.length > 0) throw new Error(`CHAOS_FAULTS=${spec}: faults are numbered 1 to ${all.length}, comma-separated`);
  return all.filter((_, index) => numbers.includes(String(index + 1)));
}

/** A sender as recovery sees it: its label and what was acknowledged. */
export interface AckSource {
  readonly label: string;
  readonly acks: ReadonlyMap<string, Ack>;
}

/**
 * Recovery from a fault in effect since `from`: the first acknowledgement of a push sent after it,
 * the moment every sender had one (undefined while some have not: those are `stuck`).
 */
export function recoveryAfter(senders: readonly AckSource[], from: number): { first: number | undefined; all: number | undefined; stuck: string[] } {
  const perSender = senders.map((sender) => {
    let first: number | undefined;
    for (const ack of sender.acks.values()) if (ack.attemptSentAt >= from && (first === undefined || ack.ackAt < first)) first = ack.ackAt;
    return first;
  });
  const got = perSender.filter((at): at is number => at !== undefined);
  const stuck = senders.filter((_, i) => perSender[i] === undefined).map((sender) => sender.label);
  return { first: got.length > 0 ? Math.min(...got) : undefined, all: stuck.length === 0 ? Math.max(...got) : undefined, stuck };
}

/** True when every sender had a push acknowledged within `withinMs` before `now`. */
export const flowing = (senders: readonly AckSource[], withinMs: number, now: number) =>
  senders.every((sender) => [...sender.acks.values()].some((ack) => ack.ackAt > now - withinMs));

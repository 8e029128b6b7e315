/**
 * How long the phases of a chaos run last and how long a check may wait, in the full run and in
 * the quick one (`npm run chaos -- --quick`, or CHAOS_QUICK=1). The quick run injects the same
 * faults in the same order under the same load and gives the same verdicts: a wait that ends as
 * soon as its condition holds costs nothing on a run that passes, so only the fixed phases are
 * shortened, and the bounds only decide how long a fault that is not survived keeps the run busy.
 * Each quick bound is set well above what the full runs on this 2-core machine measured (README,
 * Figures), so a fault survived there is survived here.
 */

export interface Pace {
  readonly mode: "full" | "quick";
  /** Load before each fault (and after a heal): the fault lands on sends in flight. */
  readonly preFaultMs: number;
  /** Load after recovery and presence, before the step's check. */
  readonly steadyAfterMs: number;
  /** From the faulted component back: every sender acknowledged again. */
  readonly recoveryBoundMs: number;
  /** From the faulted component back: the watcher and REST list exactly the connected users. */
  readonly presenceBoundMs: number;
  /** A check: history to hold each conversation's last acknowledged seq. */
  readonly historyBoundMs: number;
  /** A check, after history: every receiver to have been shown it. */
  readonly receiverBoundMs: number;
  /** The end: the sends still in flight when the load stops to be acknowledged. */
  readonly drainBoundMs: number;
  /** The whole run; past it the run stops, puts the servers back and fails. */
  readonly runBoundMs: number | undefined;
}

export const FULL_PACE: Pace = {
  mode: "full",
  preFaultMs: 5_000,
  steadyAfterMs: 5_000,
  recoveryBoundMs: 120_000,
  presenceBoundMs: 60_000,
  historyBoundMs: 90_000,
  receiverBoundMs: 30_000,
  drainBoundMs: 90_000,
  runBoundMs: undefined,
};

export const QUICK_PACE: Pace = {
  mode: "quick",
  // At 25 msg/s, 2 s is some 50 sends per sender: the fault still lands on a full window of sends
  // in flight, and `flowing` (one acknowledgement per sender within this window) still tells a
  // working service from one the previous fault left broken.
  preFaultMs: 2_000,
  // Some 200 messages through the recovered path before the check, which must find every one of
  // them in history and at every receiver; presence must still hold at the end of it.
  steadyAfterMs: 2_000,
  // The slowest recovery measured is the broker restart: every sender 22 s after the fault, about
  // 12 s after the broker is back (group sessions of 10 s expire and the coordinator waits them
  // out). 45 s after the component is back is more than three times that.
  recoveryBoundMs: 45_000,
  // The slowest convergence measured is 22.5 s after the fault (broker restart); a killed
  // gateway's users are swept at the latest PRESENCE_GATEWAY_STALE_MS (15 s) plus one
  // PRESENCE_SWEEP_INTERVAL_MS (5 s) after its last heartbeat (every 5 s), so 25 s after the
  // kill. 40 s after the component is back covers both with 15 s to spare.
  presenceBoundMs: 40_000,
  // By the check, recovery and presence have been waited for: history trails the acknowledgements
  // by the projector's last batches only (the projector applies this 100 msg/s load in well under
  // a second), and a read that fails is retried for 30 s more on top of this bound.
  historyBoundMs: 30_000,
  // Receivers are live: every conversation gets a message every 40 ms, and a receiver behind is
  // repaired by its next rejoin or REST fill, which start before the check.
  receiverBoundMs: 15_000,
  // Two of the client's 15 s push timeouts: a send in flight when the load stops is acknowledged
  // on its first attempt or on its retry.
  drainBoundMs: 30_000,
  // A run that passes takes 2 to 3 minutes (the full run's 170 s less 36 s of fixed phases); a
  // step that is not survived waits out at most its bounds above, under 3 minutes more. Beyond
  // 10 minutes something hangs, and CI must still get its answer and its servers back.
  runBoundMs: 10 * 60_000,
};

/** The pace the command line and environment ask for; throws on an argument or value it does not know. */
export function paceOf(args: readonly string[], env: Record<string, string | undefined>): Pace {
  const unknown = args.filter((arg) => arg !== "--quick");
  if (unknown.length > 0) throw new Error(`unknown argument ${unknown.join(" ")}: the chaos run takes only --quick`);
  const quickEnv = env.CHAOS_QUICK ?? "";
  if (!["", "0", "1"].includes(quickEnv)) throw new Error(`CHAOS_QUICK=${quickEnv}: set it to 1 for the quick run, or 0`);
  return args.includes("--quick") || quickEnv === "1" ? QUICK_PACE : FULL_PACE;
}

import { describe, expect, it } from "vitest";
import { formatReport, formatTable, NOTHING_COUNTED, runSurvived, stepRow, type StepOutcome } from "../../../../scripts/chaos/chaos-report.js";
import { NOTHING_WRONG, type DeliveryCheck } from "../../../../scripts/chaos/delivery-audit.js";
import type { UnexpectedExit } from "../../../../scripts/chaos/supervised-roles.js";

const cleanCheck: DeliveryCheck = {
  tally: NOTHING_WRONG,
  history: {},
  receivers: [
    { user: "r", gateway: "gateway-a", conversationId: "c1", target: 2, joins: 1, unrecovered: 0, restPages: 0, seen: 2, lastSeq: 2, duplicates: 0, missing: 0, inOrder: true, firstDisorder: undefined },
  ],
  problems: [],
  evidence: {},
};
const step = (over: Partial<StepOutcome> = {}): StepOutcome => ({
  fault: "kill -9 projector",
  check: cleanCheck,
  timing: { recoveryS: 0.1, allSendersRecoveryS: 0.2, presenceS: 3, presenceConverged: true },
  problems: [],
  refusals: [],
  exits: [],
  retries: {},
  details: { injectedAtS: 1 },
  timeline: [],
  ...over,
});
const exit = (kind: UnexpectedExit["kind"]): UnexpectedExit => ({ slot: "processor", at: 1, exit: 1, kind, reason: "boom", logFile: "/tmp/p.log" });

describe("a step's row", () => {
  it("is survived when nothing went wrong and presence converged", () => {
    const { row } = stepRow(NOTHING_COUNTED, step());
    expect(row.verdict).toBe("survived");
    expect(row.lost).toBe(0);
    expect(row.problems).toEqual([]);
  });

  it("is not survived when presence did not converge, even with no problem line", () => {
    expect(stepRow(NOTHING_COUNTED, step({ timing: { recoveryS: 1, allSendersRecoveryS: 1, presenceS: null, presenceConverged: false } })).row.verdict).toBe("NOT SURVIVED");
  });

  it("is not survived when a role crashed, though the supervisor brought it back", () => {
    const { row } = stepRow(NOTHING_COUNTED, step({ exits: [exit("crash")] }));
    expect(row.verdict).toBe("NOT SURVIVED");
    expect(row.problems[0]).toMatch(/^processor crashed \(exit 1\): boom/);
  });

  it("only notes a role that shut itself down on purpose", () => {
    const { row } = stepRow(NOTHING_COUNTED, step({ exits: [exit("deliberate")] }));
    expect(row.verdict).toBe("survived");
    expect(row.notes[0]).toMatch(/^processor shut itself down/);
  });

  it("is charged only with the refusals, exits and retries added since the previous step", () => {
    const refusal = { clientMsgId: "c0-1", at: 1, response: { reason: "forbidden" } };
    const first = stepRow(NOTHING_COUNTED, step({ refusals: [refusal], exits: [exit("crash")], retries: { timeout: 4 } }));
    expect(first.row.verdict).toBe("NOT SURVIVED");
    const second = stepRow(first.tally, step({ refusals: [refusal], exits: [exit("crash")], retries: { timeout: 6 } }));
    expect(second.row.verdict).toBe("survived");
    expect(second.row.notes).toEqual(['retries by reason: {"timeout":2}']);
  });

  it("puts the step's own problems first, then the check's", () => {
    const { row } = stepRow(NOTHING_COUNTED, step({ problems: ["no send acknowledged"], check: { ...cleanCheck, problems: ["history behind"] } }));
    expect(row.problems).toEqual(["no send acknowledged", "history behind"]);
  });
});

describe("the run", () => {
  const survived = stepRow(NOTHING_COUNTED, step()).row;

  it("passes only when it ran to its end and every step survived", () => {
    expect(runSurvived([survived], undefined)).toBe(true);
    expect(runSurvived([survived], "aborted")).toBe(false);
    expect(runSurvived([], undefined)).toBe(false);
  });

  it("prints one table line a step and each problem under the table", () => {
    const failed = stepRow(NOTHING_COUNTED, step({ fault: "MariaDB restart", problems: ["sockets still not reconnected"] })).row;
    const table = formatTable([survived, failed]).split("\n");
    expect(table).toHaveLength(4);
    expect(table[2]).toMatch(/^\| kill -9 projector +\| 0 +\| 0 \/ 0 +\| 0\.1 \/ 0\.2 +\| 3\.0 +\| yes +\| yes +\| survived +\|$/);
    expect(table[3]).toContain("NOT SURVIVED");
    expect(formatReport([failed])).toContain("\n  MariaDB restart: sockets still not reconnected\n");
  });
});

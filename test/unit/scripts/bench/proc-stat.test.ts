import { describe, expect, it } from "vitest";
import { parseMachineStat, parseProcessStat } from "../../../../scripts/bench/proc-stat.js";

// 52 fields as Linux 6 writes them; utime 1200, stime 345, starttime 832732.
const stat = (comm: string, utime = 1200, stime = 345, start = 832732) =>
  `15425 (${comm}) S 15422 15422 4268 0 -1 4194304 131 0 0 0 ${utime} ${stime} 0 0 20 0 1 0 ${start} 3133440 383 18446744073709551615 94134257655808 94134257675689 140733399677056 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 94134257691696 94134257693312 94134715564032 140733399685858 140733399685878 140733399685878 140733399687147 0\n`;

describe("reading /proc/<pid>/stat", () => {
  it("adds user and system time, and reads the start time", () => {
    expect(parseProcessStat(stat("node"))).toEqual({ comm: "node", state: "S", cpuTicks: 1545, startTicks: 832732 });
  });

  it("counts fields from the last parenthesis: a command name may hold spaces and parentheses", () => {
    expect(parseProcessStat(stat("rdk:broker-1 (x) 7 8"))).toMatchObject({ comm: "rdk:broker-1 (x) 7 8", cpuTicks: 1545, startTicks: 832732 });
  });

  it("refuses what is not a stat line rather than reading zeros", () => {
    expect(() => parseProcessStat("")).toThrow(/not a \/proc stat line/);
    expect(() => parseProcessStat("1 (node) S 1 2 3")).toThrow(/field 14/);
  });
});

describe("reading /proc/stat", () => {
  it("counts user, nice, system, irq, softirq and steal as busy; idle and iowait only in the total", () => {
    // user nice system idle iowait irq softirq steal guest guest_nice
    const text = "cpu  811971 3 128103 682891 12689 5 7049 15933 100 0\ncpu0 1 2 3 4 5 6 7 8 9 10\nintr 1 2\n";
    expect(parseMachineStat(text)).toEqual({ busyTicks: 811971 + 3 + 128103 + 5 + 7049 + 15933, totalTicks: 811971 + 3 + 128103 + 5 + 7049 + 15933 + 682891 + 12689 });
  });

  it("refuses a file without the aggregate line", () => expect(() => parseMachineStat("cpu0 1 2 3\n")).toThrow(/aggregate cpu line/));
});

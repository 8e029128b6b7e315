import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { projectRoot } from "../../../../src/platform/config/project.js";
import { checkCompatibility, COMPATIBILITY_RULE } from "../../../../src/platform/contract/compatibility.js";
import { SchemaHistory, SchemaHistoryUnavailableError, WORKING_TREE } from "../../../../src/platform/contract/schema-history.js";

/** Every breach of the FULL rule between consecutive versions of the schemas under `root`. */
function breaches(history: SchemaHistory): string[] {
  const found: string[] = [];
  for (const file of history.files()) {
    const versions = history.versions(file);
    for (let i = 1; i < versions.length; i++) {
      const previous = versions[i - 1]!;
      const next = versions[i]!;
      let result;
      try {
        result = checkCompatibility(previous.schema as object, next.schema as object);
      } catch (err) {
        found.push(`${file} at ${next.ref}: not a valid schema: ${(err as Error).message}`);
        continue;
      }
      if (!result.backward || !result.forward) {
        found.push(`${file}: ${previous.ref.slice(0, 12)} -> ${next.ref.slice(0, 12)}\n    ${result.reasons.join("\n    ")}`);
      }
    }
  }
  return found;
}

describe(`every schema change in git history is ${COMPATIBILITY_RULE}-compatible with the version before`, () => {
  // Fails (never skips) without git or history: a check that compared nothing would pass a break.
  it("has the repository's history to check", () => {
    expect(() => new SchemaHistory(projectRoot())).not.toThrow();
  });

  it("finds no breaking change between consecutive versions of any schema", () => {
    const history = new SchemaHistory(projectRoot());
    expect(history.files().length).toBeGreaterThan(0);
    const found = breaches(history);
    expect(found, `schema changes that break consumers of the previous version:\n${found.join("\n")}`).toEqual([]);
  }, 120_000);
});

describe("the history check itself", () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  function repo(): { root: string; write(path: string, content: object): void; commit(message: string): string; run(...args: string[]): string } {
    const root = mkdtempSync(join(tmpdir(), "quikchat-history-"));
    dirs.push(root);
    const run = (...args: string[]): string =>
      execFileSync("git", ["-c", "user.name=test", "-c", "user.email=test@example.invalid", "-c", "commit.gpgsign=false", ...args], { cwd: root, encoding: "utf8" });
    run("init", "--quiet");
    return {
      root,
      run,
      write(path, content) {
        mkdirSync(dirname(join(root, path)), { recursive: true });
        writeFileSync(join(root, path), JSON.stringify(content, null, 2));
      },
      commit(message) {
        run("add", "-A");
        run("commit", "--quiet", "-m", message);
        return run("rev-parse", "HEAD").trim();
      },
    };
  }

  const meta = (fields: object[]): object => ({ type: "record", name: "EventMeta", namespace: "quikchat.common", doc: "meta", fields });
  const sent = (fields: object[]): object => ({
    type: "record", name: "MessageSent", namespace: "quikchat.messages", doc: "sent", partitionKey: "conversationId",
    fields: [{ name: "meta", type: "quikchat.common.EventMeta" }, { name: "conversationId", type: "string" }, ...fields],
  });
  const EVENT = "schemas/messages/events/MessageSent.avsc";
  const META = "schemas/common/EventMeta.avsc";

  it("fails loudly outside a git repository", () => {
    const root = mkdtempSync(join(tmpdir(), "quikchat-nogit-"));
    dirs.push(root);
    expect(() => new SchemaHistory(root)).toThrow(SchemaHistoryUnavailableError);
  });

  it("fails loudly in a repository without commits", () => {
    const { root } = repo();
    expect(() => new SchemaHistory(root)).toThrow(/no commits yet/);
  });

  it("lists each version once, oldest first, the working tree last", () => {
    const r = repo();
    r.write(META, meta([{ name: "eventId", type: "string" }]));
    r.write(EVENT, sent([]));
    const first = r.commit("v1");
    r.write(EVENT, sent([{ name: "note", type: ["null", "string"], default: null }]));
    const second = r.commit("v2");
    r.write("schemas/messages/events/MessageRead.avsc", { ...sent([]), name: "MessageRead" });
    r.commit("another schema: not a version of this one");
    r.write(EVENT, sent([{ name: "note", type: ["null", "string"], default: null }, { name: "seq", type: ["null", "long"], default: null }]));
    const versions = new SchemaHistory(r.root).versions(EVENT);
    expect(versions.map((v) => v.ref)).toEqual([first, second, WORKING_TREE]);
    expect(breaches(new SchemaHistory(r.root))).toEqual([]);
  });

  it("reports a committed breaking change, with the commits and the field", () => {
    const r = repo();
    r.write(META, meta([{ name: "eventId", type: "string" }]));
    r.write(EVENT, sent([]));
    r.commit("v1");
    r.write(EVENT, sent([{ name: "seq", type: "long" }]));
    r.commit("v2 adds a required field");
    const found = breaches(new SchemaHistory(r.root));
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/MessageSent\.avsc/);
    expect(found[0]).toMatch(/seq: the reader requires this field/);
  });

  it("reports a breaking change of a shared type through every record that inlines it", () => {
    const r = repo();
    r.write(META, meta([{ name: "eventId", type: "string" }]));
    r.write(EVENT, sent([]));
    r.commit("v1");
    r.write(META, meta([{ name: "eventId", type: "string" }, { name: "tenant", type: "string" }]));
    const found = breaches(new SchemaHistory(r.root));
    expect(found.some((line) => line.startsWith(META))).toBe(true);
    expect(found.some((line) => line.startsWith(EVENT) && /meta\.tenant/.test(line))).toBe(true);
  });

  it("follows a renamed file through its history", () => {
    const r = repo();
    r.write(META, meta([{ name: "eventId", type: "string" }]));
    r.write("schemas/messages/events/MessagePosted.avsc", sent([{ name: "a", type: "string" }, { name: "b", type: "string" }, { name: "c", type: "string" }]));
    r.commit("v1");
    r.run("mv", "schemas/messages/events/MessagePosted.avsc", EVENT);
    r.commit("rename");
    const versions = new SchemaHistory(r.root).versions(EVENT);
    expect(versions[0]?.path).toBe("schemas/messages/events/MessagePosted.avsc");
  });

  it("does not give a schema copied from another the other's history", () => {
    const r = repo();
    r.write(META, meta([{ name: "eventId", type: "string" }]));
    r.write(EVENT, sent([{ name: "a", type: "string" }, { name: "b", type: "string" }, { name: "c", type: "string" }]));
    r.commit("v1");
    const copy = "schemas/messages/events/MessageRead.avsc";
    r.write(copy, { ...sent([{ name: "a", type: "string" }, { name: "b", type: "string" }, { name: "c", type: "string" }]), name: "MessageRead" });
    const added = r.commit("copy");
    expect(new SchemaHistory(r.root).versions(copy).map((v) => v.ref)).toEqual([added]);
  });
});

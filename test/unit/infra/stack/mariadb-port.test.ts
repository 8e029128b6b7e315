import { describe, expect, it } from "vitest";
import { foreignPortRefusal } from "../../../../src/infra/stack/mariadb-server.js";
import { StackError } from "../../../../src/infra/stack/stack.js";

describe("starting the machine's MariaDB", () => {
  it("is allowed on the machine's own port only", () => {
    expect(foreignPortRefusal({ host: "127.0.0.1", port: 3306 }, 3306, false)).toBeUndefined();
  });

  it("is refused on another port, pointing at the machine's server when it runs", () => {
    const refusal = foreignPortRefusal({ host: "127.0.0.1", port: 3307 }, 3306, true);
    expect(refusal).toBeInstanceOf(StackError);
    expect(refusal?.message).toMatch(/^DATABASE_URL: nothing answers on 127\.0\.0\.1:3307; the machine's MariaDB runs on 127\.0\.0\.1:3306: fix the port/);
  });

  it("is refused on another port when the machine's server is down too, naming its port", () => {
    expect(foreignPortRefusal({ host: "127.0.0.1", port: 3307 }, 3306, false)?.message).toMatch(/the machine's MariaDB is configured for 127\.0\.0\.1:3306: use that port/);
  });
});

import { describe, expect, it } from "vitest";
import { isS3ErrorDocument, s3proxyProperties } from "../../../../src/infra/stack/s3proxy-server.js";

describe("the stack's S3Proxy", () => {
  it("is configured for signed requests only, with its key pair and the filesystem backend in its folder", () => {
    const properties = s3proxyProperties({ host: "127.0.0.1", port: 8333 }, { accessKeyId: "QCKEY", secretAccessKey: "s3cret" }, "/stack/s3proxy-8333/data");
    expect(properties.split("\n")).toEqual([
      "s3proxy.endpoint=http://127.0.0.1:8333",
      "s3proxy.authorization=aws-v2-or-v4",
      "s3proxy.identity=QCKEY",
      "s3proxy.credential=s3cret",
      "jclouds.provider=filesystem",
      "jclouds.filesystem.basedir=/stack/s3proxy-8333/data",
      "",
    ]);
  });

  it("counts as answering only when an unsigned request gets an S3 error document back", () => {
    const denied = "<?xml version='1.0' encoding='UTF-8'?><Error><Code>AccessDenied</Code><Message>Forbidden</Message><RequestId>4442587FB7D0A2F9</RequestId></Error>";
    expect(isS3ErrorDocument(403, denied)).toBe(true);
    expect(isS3ErrorDocument(200, "<ListAllMyBucketsResult/>")).toBe(false);
    expect(isS3ErrorDocument(403, "<html><body>Forbidden</body></html>")).toBe(false);
    expect(isS3ErrorDocument(502, denied)).toBe(false);
  });
});

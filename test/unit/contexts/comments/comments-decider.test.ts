import { describe, it } from "vitest";
import type { CommentsCommand } from "../../../../src/platform/contract/generated/avro-types.js";
import { commentsDecider, MAX_COMMENT_LENGTH } from "../../../../src/contexts/comments/domain/decide.js";
import { commandMeta, deciderSpec } from "../../../support/processor-decider-spec.js";

const spec = deciderSpec(commentsDecider);
const post = (content: string, commentId = "k1"): CommentsCommand => ({ type: "PostComment", data: { meta: commandMeta({ actorId: "u1" }), videoId: "v1", commentId, content } });

describe("comments decider", () => {
  describe("when the video has comments or none", () => {
    const earlier = [{ type: "CommentPosted" as const, data: { videoId: "v1", commentId: "k0", userId: "u2", content: "first" } }];

    it("posts a comment by the actor", () => {
      spec.given([]).when(post("Great video!")).then([{ type: "CommentPosted", data: { videoId: "v1", commentId: "k1", userId: "u1", content: "Great video!" } }]);
      spec.given(earlier).when(post("me too")).then([{ type: "CommentPosted", data: { videoId: "v1", commentId: "k1", userId: "u1", content: "me too" } }]);
    });

    it("refuses a blank or too long comment, and one without an id", () => {
      spec.given([]).when(post("  ")).thenThrows("invalid", /empty/);
      spec.given([]).when(post("x".repeat(MAX_COMMENT_LENGTH + 1))).thenThrows("invalid", /at most/);
      spec.given([]).when(post("😀".repeat(MAX_COMMENT_LENGTH))).then([{ type: "CommentPosted", data: { videoId: "v1", commentId: "k1", userId: "u1", content: "😀".repeat(MAX_COMMENT_LENGTH) } }]);
      spec.given([]).when(post("hi", "")).thenThrows("invalid", /id/);
    });
  });
});

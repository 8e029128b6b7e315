import type { CommentsCommand, CommentsEvent, PostComment } from "../../../platform/contract/generated/avro-types.js";
import { unreachable, type Decider, type DecidedEvent } from "../../../platform/domain/decider.js";
import { DomainError } from "../../../platform/domain/domain-error.js";

/** The longest comment, in code points. */
export const MAX_COMMENT_LENGTH = 2_000;

/** How many comments a video has had (the aggregate keeps nothing else: comments live in the read model). */
export interface CommentsState {
  readonly status: "open";
  readonly count: number;
}

export function initialState(): CommentsState {
  return { status: "open", count: 0 };
}

export function evolve(state: CommentsState, event: CommentsEvent): CommentsState {
  switch (event.type) {
    case "CommentPosted":
      return { ...state, count: state.count + 1 };
    default:
      return unreachable(event.type);
  }
}

/** Checks a comment's content whatever the state (the gateway runs it before sending; the processor again). */
export function validateComment(content: string): void {
  if (content.trim() === "") throw new DomainError("invalid", "a comment may not be empty");
  if ([...content].length > MAX_COMMENT_LENGTH) throw new DomainError("invalid", `a comment has at most ${MAX_COMMENT_LENGTH} characters`);
}

/**
 * The comments aggregate of one video (key: videoId). Any user of a workspace may comment (the
 * gateway admits only authenticated users of the workspace to `comments:{videoId}`): a comment is
 * 1–2,000 characters, not blank; it is posted by the actor. A retried command is answered from
 * the processor's dedupe window, so a comment is posted once.
 */
export const commentsDecider: Decider<CommentsCommand, CommentsEvent, CommentsState> = {
  initialState,
  evolve,
  decide(command) {
    switch (command.type) {
      case "PostComment":
        return post(command.data);
      default:
        return unreachable(command.type);
    }
  },
};

function post(command: PostComment): DecidedEvent<CommentsEvent>[] {
  validateComment(command.content);
  if (command.commentId === "") throw new DomainError("invalid", "a comment needs an id");
  return [{ type: "CommentPosted", data: { videoId: command.videoId, commentId: command.commentId, userId: command.meta.actorId, content: command.content } }];
}

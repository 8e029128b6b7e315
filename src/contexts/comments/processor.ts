import type { ProcessorDefinition } from "../../platform/processor/processor-definition.js";
import { commentsDecider, type CommentsState } from "./domain/decide.js";

/**
 * The comments processor: one aggregate per video over `quikapp.comments.commands` (key:
 * videoId). A posted comment answers `{id, inserted_at}`.
 */
export const commentsProcessor: ProcessorDefinition<"comments", CommentsState> = {
  contexts: ["comments"],
  decider: commentsDecider,
  result: (events, _state, command) => ({ id: command.data.commentId, inserted_at: events[0]?.data.meta.occurredAt ?? command.data.meta.issuedAt }),
};

import { randomUUID } from "node:crypto";
import type { Logger } from "../../../infra/log/logger.js";
import type { PostComment } from "../../../platform/contract/generated/avro-types.js";
import { DomainError } from "../../../platform/domain/domain-error.js";
import { ServiceError } from "../../../platform/errors/error-codes.js";
import type { CommandBus } from "../../../platform/gateway/command-bus.js";
import { parseMessage, type ChannelSource } from "../../../platform/gateway/pubsub-hub.js";
import type { ChannelFamily } from "../../../platform/phoenix/channel.js";
import { refuse, replying } from "../../../platform/phoenix/channel-replies.js";
import { validateComment } from "../domain/decide.js";
import { commentChannel } from "../projections/comments/comment-projection.js";
import type { CommentView, MysqlCommentStore } from "../projections/comments/mysql-comment-store.js";
import type { TopicViewers } from "../ports.js";

/** The push that posts a comment, and the push every joined client receives. */
export const NEW_COMMENT = "new_comment";
/** Comments in the join reply. */
const LATEST = 50;

/**
 * `comments:{videoId}`: joinable by any user of the workspace (comments are the workspace's, per
 * video). The join reply carries the latest 50 comments (`comments`, oldest first); then every
 * new one arrives as `new_comment` `{id, content, user_id, inserted_at}`, each once (one that
 * arrives while the join is answered and is already in the reply is not pushed again). A push
 * `new_comment {content}` answers `ok {id}` once the comments processor has decided it; it draws
 * from the user's comment budget (`RATE_LIMIT_COMMENTS_PER_MIN`).
 *
 * With the presence context's {@link TopicViewers}, the socket is one of the topic's viewers
 * while joined: the join is followed by the viewers' `presence_state` and `presence_diff`s
 * (Phoenix.Presence format), and refused `invalid_topic` for a topic over 200 characters or
 * `too_many_topics` when the socket views 100 topics already.
 */
export function commentFamily(deps: {
  store: Pick<MysqlCommentStore, "latest">;
  hub: ChannelSource;
  bus: CommandBus;
  /** Finds the presence context's port when first needed (absent: no viewers' presence). */
  viewers: () => TopicViewers | undefined;
  topicPrefix: string;
  logger: Logger;
}): ChannelFamily {
  const prefix = "comments:";
  return {
    prefix,
    async join(topic, _params, identity, outlet) {
      const videoId = topic.slice(prefix.length);
      if (videoId === "") return refuse("invalid_topic");
      const channel = commentChannel(deps.topicPrefix, identity.workspaceId, videoId);
      let waiting: CommentView[] | undefined = [];
      const deliver = (comment: CommentView) => outlet.push(NEW_COMMENT, { ...comment });
      const stop = await deps.hub.listen(channel, {
        onMessage: (message) => {
          const comment = parseMessage<CommentView>(message, channel, deps.logger);
          if (comment === undefined) return;
          if (waiting === undefined) deliver(comment);
          else waiting.push(comment);
        },
        onResync: () => undefined,
      });
      let comments: CommentView[];
      try {
        comments = await deps.store.latest(identity.workspaceId, videoId, LATEST);
      } catch (error) {
        stop();
        throw error;
      }
      const listed = new Set(comments.map((comment) => comment.id));
      const arrived = waiting.filter((comment) => !listed.has(comment.id));
      waiting = undefined;
      arrived.forEach(deliver);
      let stopViewing = () => undefined as void;
      try {
        stopViewing = (await deps.viewers()?.view(identity, topic, outlet)) ?? stopViewing;
      } catch (error) {
        stop();
        if (error instanceof ServiceError) return refuse(error.code, { message: error.publicMessage });
        throw error;
      }
      return {
        status: "ok",
        response: { comments },
        channel: {
          handleIn: (event, payload) =>
            event !== NEW_COMMENT
              ? Promise.resolve(refuse("unknown_event"))
              : replying(async () => {
                  if (typeof payload.content !== "string") throw new ServiceError("invalid", "content must be a string");
                  try {
                    validateComment(payload.content);
                  } catch (error) {
                    if (error instanceof DomainError) throw new ServiceError(error.code, error.message);
                    throw error;
                  }
                  const commentId = randomUUID();
                  const command: PostComment = { meta: deps.bus.meta(identity, commentId), videoId, commentId, content: payload.content };
                  const { id } = await deps.bus.request("comments", "PostComment", videoId, command);
                  return { id };
                }),
          leave: () => {
            stop();
            stopViewing();
            return Promise.resolve();
          },
        },
      };
    },
  };
}

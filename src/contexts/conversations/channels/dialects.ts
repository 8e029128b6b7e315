/**
 * The two event vocabularies clients speak on conversation topics, served by the same
 * handlers: `chat:{id}` uses colon-separated names, `conversation:{id}` snake_case names.
 * Internally an action or a delivery has one name; each dialect maps it both ways.
 */

/** What a client asks for on a conversation topic. */
export type ConversationAction =
  | "send"
  | "edit"
  | "delete"
  | "react"
  | "unreact"
  | "read"
  | "typing_start"
  | "typing_stop"
  /** Seed 000's `typing {typing: true|false}`. */
  | "typing";

/** What the server delivers on a conversation topic. */
export type ConversationDelivery =
  | "message_new"
  | "message_edited"
  | "message_deleted"
  | "reaction_added"
  | "reaction_removed"
  | "read_receipt"
  | "delivery_receipt"
  | "typing"
  | "user_online"
  | "user_offline";

export interface Dialect {
  /** The topic prefix, colon included. */
  readonly prefix: "chat:" | "conversation:";
  readonly actions: Readonly<Record<string, ConversationAction>>;
  readonly deliveries: Readonly<Record<ConversationDelivery, string>>;
}

/** Seed 001's names: `message:send` in, `message:new` out. */
export const CHAT_DIALECT: Dialect = {
  prefix: "chat:",
  actions: {
    "message:send": "send",
    "message:edit": "edit",
    "message:delete": "delete",
    "message:reaction:add": "react",
    "message:reaction:remove": "unreact",
    "message:read": "read",
    "typing:start": "typing_start",
    "typing:stop": "typing_stop",
    typing: "typing",
  },
  deliveries: {
    message_new: "message:new",
    message_edited: "message:edited",
    message_deleted: "message:deleted",
    reaction_added: "message:reaction:added",
    reaction_removed: "message:reaction:removed",
    read_receipt: "message:read",
    delivery_receipt: "message:delivered",
    typing: "typing",
    user_online: "user:online",
    user_offline: "user:offline",
  },
};

/**
 * Seed 000's names: `new_message` out (and in, Phoenix-style: the push that creates a message
 * has the name of the broadcast it causes), `read_receipt`, `typing`.
 */
export const CONVERSATION_DIALECT: Dialect = {
  prefix: "conversation:",
  actions: {
    new_message: "send",
    edit_message: "edit",
    delete_message: "delete",
    add_reaction: "react",
    remove_reaction: "unreact",
    read_receipt: "read",
    typing_start: "typing_start",
    typing_stop: "typing_stop",
    typing: "typing",
  },
  deliveries: {
    message_new: "new_message",
    message_edited: "message_edited",
    message_deleted: "message_deleted",
    reaction_added: "reaction_added",
    reaction_removed: "reaction_removed",
    read_receipt: "read_receipt",
    delivery_receipt: "delivery_receipt",
    typing: "typing",
    user_online: "user_online",
    user_offline: "user_offline",
  },
};

import { absent, invalid, optionalText, text } from "../../../platform/gateway/payload-fields.js";

/*
 * Reading the payloads of huddle pushes (`huddle:{huddleId}`, `huddle:create` on conversation
 * topics) and of the huddles' REST bodies; each reader throws the `invalid` ServiceError that
 * names the field or the limit.
 */

/** The longest id read (huddle, conversation, user). */
export const MAX_ID = 128;
/** The longest huddle title. */
export const MAX_TITLE = 200;
/** The most users invited at once; more would not fit in a huddle anyway. */
export const MAX_INVITEES = 64;

/** The `huddleId` of a push about one huddle. */
export function huddleIdOf(payload: Record<string, unknown>): string {
  const huddleId = text(payload, "huddleId", MAX_ID);
  if (huddleId === "") throw invalid("huddleId is required");
  return huddleId;
}

/** A boolean field that must be there. */
function flag(payload: Record<string, unknown>, field: string): boolean {
  const value = payload[field];
  if (typeof value !== "boolean") throw invalid(`${field} must be true or false`);
  return value;
}

/** A boolean field that may be absent or null (then `fallback`). */
function optionalFlag(payload: Record<string, unknown>, field: string, fallback: boolean): boolean {
  return absent(payload[field]) ? fallback : flag(payload, field);
}

/** `huddle:toggle-audio` / `huddle:toggle-video` / `huddle:toggle-screen` `{enabled}`: the state wanted. */
export function enabledOf(payload: Record<string, unknown>): boolean {
  return flag(payload, "enabled");
}

/** `huddle:raise-hand` `{raised}`: true raises the hand, false lowers it. */
export function raisedOf(payload: Record<string, unknown>): boolean {
  return flag(payload, "raised");
}

/** A list of user ids (`field`), each 1 to {@link MAX_ID} characters, once each, at most {@link MAX_INVITEES}. */
export function userIdsOf(payload: Record<string, unknown>, field: string): string[] {
  const value = payload[field];
  if (!Array.isArray(value)) throw invalid(`${field} must be a list of user ids`);
  if (value.some((id) => typeof id !== "string" || id === "" || id.length > MAX_ID)) throw invalid(`${field} must be user ids of 1 to ${MAX_ID} characters`);
  const unique = [...new Set(value as string[])];
  if (unique.length > MAX_INVITEES) throw invalid(`${field} names at most ${MAX_INVITEES} users`);
  return unique;
}

/** `huddle:invite` `{userIds}`: at least one user. */
export function inviteesOf(payload: Record<string, unknown>): string[] {
  const userIds = userIdsOf(payload, "userIds");
  if (userIds.length === 0) throw invalid("userIds must name at least one user");
  return userIds;
}

/** The microphone and camera a participant arrives with (default: microphone on, camera off). */
export interface ArrivalMedia {
  readonly audio: boolean;
  readonly video: boolean;
}

/** The join params of `huddle:{huddleId}` (or what a `huddle:create` carries): `{audio?, video?}`. */
export function arrivalOf(payload: Record<string, unknown>): ArrivalMedia {
  return { audio: optionalFlag(payload, "audio", true), video: optionalFlag(payload, "video", false) };
}

/** `huddle:create` `{conversationId?, inviteeIds?, title?, audio?, video?}` (`POST /api/huddles` the same). */
export interface CreatePayload extends ArrivalMedia {
  readonly conversationId: string | null;
  readonly inviteeIds: readonly string[];
  readonly title: string | null;
}

export function createPayload(payload: Record<string, unknown>): CreatePayload {
  const conversationId = optionalText(payload, "conversationId", MAX_ID);
  if (conversationId === "") throw invalid("conversationId may not be empty");
  const inviteeIds = absent(payload.inviteeIds) ? [] : userIdsOf(payload, "inviteeIds");
  const title = optionalText(payload, "title", MAX_TITLE);
  return { conversationId, inviteeIds, title: title === null || title.trim() === "" ? null : title, ...arrivalOf(payload) };
}

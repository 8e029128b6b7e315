import { ServiceError } from "../errors/error-codes.js";

/*
 * Reading the fields of a client payload (a socket push or a REST body): each reader throws the
 * `invalid` ServiceError that names the field.
 */

/** The refusal of a payload that breaks a rule, naming it. */
export const invalid = (message: string) => new ServiceError("invalid", message);

export const absent = (value: unknown) => value === undefined || value === null;

/** A string field; ids and names have their length bounded here, content by the domain's rules. */
export const text = (payload: Record<string, unknown>, field: string, max?: number): string => {
  const value = payload[field];
  if (absent(value)) throw invalid(`${field} is required`);
  if (typeof value !== "string") throw invalid(`${field} must be a string`);
  if (max !== undefined && value.length > max) throw invalid(`${field} must be at most ${max} characters`);
  return value;
};

/** A string field that may be absent or null (then null). */
export const optionalText = (payload: Record<string, unknown>, field: string, max: number): string | null =>
  absent(payload[field]) ? null : text(payload, field, max);

/** A non-negative integer field. */
export const count = (payload: Record<string, unknown>, field: string): number => {
  const value = payload[field];
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) throw invalid(`${field} must be a non-negative integer`);
  return value;
};

/**
 * A push on a topic about one thing (`call:{callId}`, `huddle:{huddleId}`) as a payload naming
 * it in `field`: the topic's id when absent; naming another is `invalid`.
 */
export function onTopic(payload: Record<string, unknown>, field: string, topicId: string): Record<string, unknown> {
  if (absent(payload[field])) return { ...payload, [field]: topicId };
  if (payload[field] !== topicId) throw invalid(`${field} must be the one of this topic`);
  return payload;
}

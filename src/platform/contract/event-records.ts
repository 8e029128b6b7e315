import type { ContextEvents } from "./generated/avro-types.js";

/**
 * The event a consumed record carries, as its context's union (`{type: "MessageSent", data}`), so
 * that a projection switches on `type` and reads `data` typed; undefined for a record of another
 * context. The consumer decoded the value with the writer's schema and resolved it into this
 * build's reader schema (`AvroCodec`), so its shape is the generated type's: the one place where
 * that is taken on trust.
 */
export function eventOf<C extends keyof ContextEvents>(record: { readonly fullName: string; readonly value: unknown }, context: C): ContextEvents[C] | undefined {
  const namespace = `quikchat.${context}.`;
  if (!record.fullName.startsWith(namespace)) return undefined;
  // The checker cannot relate an object to every context's union at once ("too complex to represent").
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion
  return { type: record.fullName.slice(namespace.length), data: record.value } as unknown as ContextEvents[C];
}

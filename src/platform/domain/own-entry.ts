/**
 * The value stored under `key` in a record used as a map, or undefined. Only the record's own
 * keys count: ids such as `constructor` or `__proto__` must not find built-in properties.
 */
export function own<V>(record: Readonly<Record<string, V>>, key: string): V | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

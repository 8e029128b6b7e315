/**
 * A named slot through which one context offers a running piece to others in the same process
 * (the membership check of conversations to typing's routes, typing's signals to conversation
 * topics). The context that reads a port declares it; the one that fills it imports it.
 */
export class Port<T> {
  /** Never set: carries the port's type. */
  declare readonly value: T;

  constructor(readonly description: string) {}
}

/**
 * The ports of one process. A context fills a port while its role starts (contexts start in
 * the order of the module list); another reads it at once ({@link require}: the provider must
 * come earlier in the list) or when first needed ({@link find}).
 */
export class Ports {
  private readonly values = new Map<Port<unknown>, unknown>();

  provide<T>(port: Port<T>, value: T): void {
    if (this.values.has(port)) throw new Error(`${port.description} is provided twice`);
    this.values.set(port, value);
  }

  /** @throws when no context provided it yet: list its provider before the reader in `src/contexts/index.ts`. */
  require<T>(port: Port<T>): T {
    if (!this.values.has(port)) throw new Error(`nothing provides ${port.description}: list its context before the ones that use it`);
    return this.values.get(port) as T;
  }

  /** The port's value, or undefined when no context of this process provides it. */
  find<T>(port: Port<T>): T | undefined {
    return this.values.get(port) as T | undefined;
  }
}

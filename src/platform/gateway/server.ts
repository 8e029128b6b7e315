import type { FastifyInstance } from "fastify";
import type { Logger } from "../../infra/log/logger.js";

export interface ServerOptions {
  readonly port: number;
  readonly host: string;
  readonly shutdownTimeoutMs: number;
}

/**
 * Listens, and on SIGTERM/SIGINT shuts down once: stop accepting, close the app (its onClose
 * hooks close sockets and adapters in reverse order of registration), then `afterClose`.
 * A shutdown that outlasts `shutdownTimeoutMs` exits with code 1.
 */
export async function serve(
  app: FastifyInstance,
  options: ServerOptions,
  logger: Logger,
  afterClose: () => Promise<void>,
): Promise<{ address: string; shutdown(reason: string): Promise<void> }> {
  const address = await app.listen({ port: options.port, host: options.host });
  logger.info({ address }, "listening");

  let closing: Promise<void> | undefined;
  const shutdown = (reason: string): Promise<void> => {
    closing ??= (async () => {
      logger.info({ reason }, "shutting down");
      const timer = setTimeout(() => {
        logger.error({ timeoutMs: options.shutdownTimeoutMs }, "shutdown timed out");
        process.exit(1);
      }, options.shutdownTimeoutMs);
      timer.unref();
      try {
        await app.close();
        await afterClose();
      } catch (error) {
        logger.error({ err: error }, "error while shutting down");
      } finally {
        clearTimeout(timer);
      }
      logger.info("stopped");
    })();
    return closing;
  };
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.once(signal, () => void shutdown(signal).then(() => process.exit(0)));
  }
  return { address, shutdown };
}

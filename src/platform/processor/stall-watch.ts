import type { Logger } from "../../infra/log/logger.js";

/** How long one step may last before the processor says where it waits, then again at each doubling. */
const FIRST_WARNING_MS = 5_000;
const CHECK_EVERY_MS = 1_000;

/**
 * Names the step the consume loop is in (answering rebalances, consuming, a batch's begin,
 * offsets, commit, abort…) and logs a warning when one step lasts 5 s, 10 s, 20 s…: a processor
 * that stops answering says where it waits, even when every call it makes is one that can wait
 * without failing (a restore waiting for stable offsets, a consume that keeps coming back empty).
 */
export class StallWatch {
  private step = "starting";
  private since = performance.now();
  private nextWarningMs = FIRST_WARNING_MS;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly logger: Logger) {
    this.timer = setInterval(() => this.check(), CHECK_EVERY_MS).unref();
  }

  enter(step: string): void {
    if (this.nextWarningMs > FIRST_WARNING_MS) {
      this.logger.info({ step: this.step, ms: Math.round(performance.now() - this.since), next: step }, "processor step done after a long wait");
    }
    this.step = step;
    this.since = performance.now();
    this.nextWarningMs = FIRST_WARNING_MS;
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private check(): void {
    const ms = performance.now() - this.since;
    if (ms < this.nextWarningMs) return;
    this.logger.warn({ step: this.step, ms: Math.round(ms) }, "processor waiting long in one step");
    this.nextWarningMs *= 2;
  }
}
